//go:build windows

package hotkey

import (
	"errors"
	"fmt"
	"runtime"
	gosync "sync"
	"unsafe"

	"golang.org/x/sys/windows"
)

// The low-level keyboard hook (WH_KEYBOARD_LL) sees every key press and
// release in the session, whichever window has the focus; RegisterHotKey
// would report presses only. The hook procedure runs on the thread that
// installed it, inside that thread's GetMessage: hookThread owns both.

var (
	user32                  = windows.NewLazySystemDLL("user32.dll")
	procSetWindowsHookExW   = user32.NewProc("SetWindowsHookExW")
	procCallNextHookEx      = user32.NewProc("CallNextHookEx")
	procUnhookWindowsHookEx = user32.NewProc("UnhookWindowsHookEx")
	procGetMessageW         = user32.NewProc("GetMessageW")
	procPostThreadMessageW  = user32.NewProc("PostThreadMessageW")
)

const (
	whKeyboardLL = 13
	wmKeyDown    = 0x0100
	wmKeyUp      = 0x0101
	wmSysKeyDown = 0x0104
	wmSysKeyUp   = 0x0105
	wmQuit       = 0x0012
	llkhExtended = 0x01
	vkEscape     = 0x1b
)

// kbdllHookStruct is KBDLLHOOKSTRUCT.
type kbdllHookStruct struct {
	VKCode    uint32
	ScanCode  uint32
	Flags     uint32
	Time      uint32
	ExtraInfo uintptr
}

type winMsg struct {
	hwnd    uintptr
	message uint32
	wParam  uintptr
	lParam  uintptr
	time    uint32
	pt      struct{ x, y int32 }
}

// virtualKeys maps Fyne key names to Windows virtual-key codes.
var virtualKeys = map[string]uint32{
	"Escape": 0x1b, "Return": 0x0d, "Tab": 0x09, "BackSpace": 0x08,
	"Insert": 0x2d, "Delete": 0x2e, "Right": 0x27, "Left": 0x25,
	"Down": 0x28, "Up": 0x26, "Prior": 0x21, "Next": 0x22, "Home": 0x24,
	"End": 0x23, "Space": 0x20, "LeftShift": 0xa0, "RightShift": 0xa1,
	"LeftControl": 0xa2, "RightControl": 0xa3, "LeftAlt": 0xa4,
	"RightAlt": 0xa5, "LeftSuper": 0x5b, "RightSuper": 0x5c, "Menu": 0x5d,
	"PrintScreen": 0x2c, "CapsLock": 0x14, "Pause": 0x13, "ScrollLock": 0x91,
}

func virtualKeyOf(name string) (uint32, bool) {
	if vk, ok := virtualKeys[name]; ok {
		return vk, true
	}
	if len(name) >= 2 && name[0] == 'F' {
		n := 0
		for _, c := range name[1:] {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		if n >= 1 && n <= 24 {
			return 0x70 + uint32(n-1), true // VK_F1 ...
		}
		return 0, false
	}
	if len(name) == 1 && ((name[0] >= 'A' && name[0] <= 'Z') || (name[0] >= '0' && name[0] <= '9')) {
		return uint32(name[0]), true
	}
	return 0, false
}

// windowsHook is the one installed hook (the hook procedure is a single
// C callback, so one hook at a time).
type windowsHook struct {
	vk, scan uint32 // one of them is set
	thread   uint32
	events   chan Event
	done     chan struct{}
	once     gosync.Once
	down     bool // touched only on the hook thread
}

var (
	activeMu gosync.Mutex
	active   *windowsHook
	hookProc = windows.NewCallback(lowLevelKeyboard)
)

func open(k Key) (Source, error) {
	h := &windowsHook{events: make(chan Event, 64), done: make(chan struct{})}
	if k.Name == "" {
		h.scan = uint32(k.Scan)
	} else {
		vk, ok := virtualKeyOf(k.Name)
		if !ok {
			return nil, fmt.Errorf("key %q: %w", k.Name, ErrUnknownKey)
		}
		h.vk = vk
	}
	activeMu.Lock()
	if active != nil {
		activeMu.Unlock()
		return nil, errors.New("a talk key hook is already installed")
	}
	active = h
	activeMu.Unlock()
	started := make(chan error, 1)
	go h.run(started)
	if err := <-started; err != nil {
		activeMu.Lock()
		active = nil
		activeMu.Unlock()
		return nil, err
	}
	return h, nil
}

// run installs the hook on a locked thread and pumps its messages until
// Close posts WM_QUIT.
func (h *windowsHook) run(started chan<- error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer close(h.done)
	defer close(h.events)
	h.thread = windows.GetCurrentThreadId()
	hook, _, err := procSetWindowsHookExW.Call(whKeyboardLL, hookProc, 0, 0)
	if hook == 0 {
		started <- fmt.Errorf("SetWindowsHookEx: %w", err)
		return
	}
	defer procUnhookWindowsHookEx.Call(hook)
	started <- nil
	var m winMsg
	for {
		r, _, _ := procGetMessageW.Call(uintptr(unsafe.Pointer(&m)), 0, 0, 0)
		if int32(r) <= 0 { // WM_QUIT or error
			return
		}
	}
}

// lowLevelKeyboard is the hook procedure; it runs on the hook thread and
// must return quickly (Windows drops slow hooks), so it never blocks.
func lowLevelKeyboard(code int, wParam uintptr, lParam unsafe.Pointer) uintptr {
	activeMu.Lock()
	h := active
	activeMu.Unlock()
	if code >= 0 && h != nil {
		kb := (*kbdllHookStruct)(lParam)
		scan := kb.ScanCode
		if kb.Flags&llkhExtended != 0 {
			scan |= 0x100
		}
		if (h.vk != 0 && kb.VKCode == h.vk) || (h.vk == 0 && scan == h.scan) {
			switch wParam {
			case wmKeyDown, wmSysKeyDown:
				if !h.down { // held keys repeat WM_KEYDOWN
					h.down = true
					h.emit(Event{Down: true})
				}
			case wmKeyUp, wmSysKeyUp:
				if h.down {
					h.down = false
					h.emit(Event{Down: false})
				}
			}
			return 1 // the talk key is Parley's: other windows do not see it
		}
		if h.down && kb.VKCode == vkEscape && (wParam == wmKeyDown || wParam == wmSysKeyDown) {
			// Escape while the talk key is held withdraws the transmission,
			// whichever window has the focus (as on X11, where the grab
			// brings it to Parley). It is Parley's too: the focused window
			// does not also act on it.
			h.emit(Event{Cancel: true})
			return 1
		}
	}
	r, _, _ := procCallNextHookEx.Call(0, uintptr(code), wParam, uintptr(lParam))
	return r
}

func (h *windowsHook) emit(e Event) {
	select {
	case h.events <- e:
	default: // the consumer is 64 edges behind; never stall the keyboard
	}
}

func (h *windowsHook) Events() <-chan Event { return h.events }

func (h *windowsHook) Name() string { return "Windows keyboard hook" }

func (h *windowsHook) Err() error { return nil }

// Close removes the hook and waits for its thread. Idempotent.
func (h *windowsHook) Close() error {
	h.once.Do(func() {
		procPostThreadMessageW.Call(uintptr(h.thread), wmQuit, 0, 0)
		<-h.done
		activeMu.Lock()
		active = nil
		activeMu.Unlock()
	})
	return nil
}
