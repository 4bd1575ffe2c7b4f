//go:build unix && !darwin && !android

package hotkey

// keysyms maps Fyne key names to X11 keysyms (X11/keysymdef.h).
var keysyms = map[string]uint32{
	"Escape": 0xff1b, "Return": 0xff0d, "Tab": 0xff09, "BackSpace": 0xff08,
	"Insert": 0xff63, "Delete": 0xffff, "Right": 0xff53, "Left": 0xff51,
	"Down": 0xff54, "Up": 0xff52, "Prior": 0xff55, "Next": 0xff56,
	"Home": 0xff50, "End": 0xff57, "Space": 0x20, "KP_Enter": 0xff8d,
	"LeftShift": 0xffe1, "RightShift": 0xffe2, "LeftControl": 0xffe3,
	"RightControl": 0xffe4, "LeftAlt": 0xffe9, "RightAlt": 0xffea,
	"LeftSuper": 0xffeb, "RightSuper": 0xffec, "Menu": 0xff67,
	"PrintScreen": 0xff61, "CapsLock": 0xffe5, "Pause": 0xff13,
	"ScrollLock": 0xff14,
}

// keysymOf returns the keysym for a Fyne key name.
func keysymOf(name string) (uint32, bool) {
	if ks, ok := keysyms[name]; ok {
		return ks, true
	}
	if len(name) >= 2 && name[0] == 'F' {
		n := 0
		for _, c := range name[1:] {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		if n >= 1 && n <= 35 {
			return 0xffbe + uint32(n-1), true // XK_F1 ...
		}
		return 0, false
	}
	if len(name) == 1 {
		c := name[0]
		switch {
		case c >= 'A' && c <= 'Z':
			return uint32(c - 'A' + 'a'), true // lower-case keysym, as the keymap lists it
		case c >= 0x20 && c < 0x7f:
			return uint32(c), true
		}
	}
	return 0, false
}
