package ui

import (
	"strings"

	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/widget"

	"parley/sync"
)

// maxReceiptNames is how many names a receipt label spells out.
const maxReceiptNames = 3

// receiptText is the small label on an own, sent message: heard (or seen)
// by whom, else delivered, else nothing.
func receiptText(m Message) string {
	r := m.Receipts
	if !m.Mine || m.Pending || m.Lost() {
		return ""
	}
	voice := m.Kind == sync.KindVoice
	switch {
	case r.Others > 0 && len(r.Heard) >= r.Others:
		if voice {
			return lang.L("Heard by everyone")
		}
		return lang.L("Seen by everyone")
	case len(r.Heard) > 0:
		data := map[string]any{"Names": nameList(r.Heard)}
		if voice {
			return lang.L("Heard by {{.Names}}", data)
		}
		return lang.L("Seen by {{.Names}}", data)
	case r.Others > 0 && len(r.Delivered) >= r.Others:
		return lang.L("Delivered")
	case len(r.Delivered) > 0:
		return lang.L("Delivered to {{.Count}} of {{.Others}}", map[string]any{"Count": len(r.Delivered), "Others": r.Others})
	}
	return ""
}

// receiptImportance is how loud the receipt label is: heard or seen by
// someone stands out (success colour); delivered reads like the time
// beside it. The theme's low importance (the disabled colour) vanished on
// the own bubble's colour.
func receiptImportance(m Message) widget.Importance {
	if len(m.Receipts.Heard) > 0 {
		return widget.SuccessImportance
	}
	return widget.MediumImportance
}

// nameList spells out the first few names and counts the rest.
func nameList(names []string) string {
	if len(names) <= maxReceiptNames {
		return strings.Join(names, ", ")
	}
	return lang.L("{{.Names}} and {{.More}} more", map[string]any{
		"Names": strings.Join(names[:maxReceiptNames], ", "), "More": len(names) - maxReceiptNames})
}
