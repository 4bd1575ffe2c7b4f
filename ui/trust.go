package ui

import (
	"errors"
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/widget"
)

// Trust on first use, as the user sees it. A Parley server proves who it is
// with a certificate; the first connection to an address remembers its
// fingerprint, and the fingerprint is shown where the server runs (the host
// switch, parleyd's log) and next to servers found on the network, so that
// a person can compare the two. If a server later shows another
// certificate, nothing is sent to it and the trust prompt asks the user;
// only "Trust the new certificate" changes what is remembered.

// ErrCertificateChanged is the ui error of a server whose certificate is
// not the one remembered for its address. The messenger returns it as a
// *CertificateChangedError.
var ErrCertificateChanged = errors.New("server certificate changed")

// CertificateChangedError says which server changed and how, for the
// trust prompt. errors.Is(err, ErrCertificateChanged) holds.
type CertificateChangedError struct {
	Address   string // host:port
	Pinned    string // short fingerprint trusted so far
	Presented string // short fingerprint the server shows now
	// Fingerprint is the full fingerprint presented, what Trust.TrustServer
	// pins when the user accepts it.
	Fingerprint string
	Err         error // the messenger's error
}

func (e *CertificateChangedError) Error() string {
	return fmt.Sprintf("server %s changed its certificate from %s to %s: %v", e.Address, e.Pinned, e.Presented, e.Err)
}

// Unwrap returns ErrCertificateChanged and the messenger's error.
func (e *CertificateChangedError) Unwrap() []error { return []error{ErrCertificateChanged, e.Err} }

// Trust is implemented by a Messenger that pins server certificates; ui
// uses it when the Messenger has it.
type Trust interface {
	// ServerFingerprint returns the short fingerprint pinned for address,
	// "" if none is. It returns quickly (ui calls it on the UI thread).
	ServerFingerprint(address string) string
	// TrustServer pins fingerprint (a CertificateChangedError.Fingerprint)
	// for address: the user compared it and accepted it. A stopped account
	// on that server starts again. ui calls it off the UI thread.
	TrustServer(address, fingerprint string) error
}

// HostFingerprint is implemented by a Host that serves TLS: the short
// fingerprint of its certificate, "" when stopped.
type HostFingerprint interface {
	Fingerprint() string
}

// trustWarning is the prompt's first paragraph (a template: the address
// goes where the translation puts it).
const trustWarning = "The server at {{.Address}} shows a different certificate than the one this computer trusted before. It may have been reinstalled or given a new certificate — or another computer may be pretending to be it. Nothing was sent to it."

// hostFingerprint returns the hosted server's short fingerprint, if any.
func (u *UI) hostFingerprint() string {
	if hf, ok := u.d.Host.(HostFingerprint); ok {
		return hf.Fingerprint()
	}
	return ""
}

// askTrust shows the trust prompt if err is a changed certificate and
// reports whether it did. After the user accepts, the new fingerprint is
// pinned off the UI thread and then retry runs on the UI thread (nil:
// nothing to retry). One prompt at a time: a second changed-certificate
// error while one is open only updates nothing.
func (u *UI) askTrust(err error, retry func()) bool {
	var ce *CertificateChangedError
	if !errors.As(err, &ce) {
		return false
	}
	if u.trustOpen {
		return true
	}
	tr, ok := u.d.Messenger.(Trust)
	if !ok {
		return false // nothing can accept it: the banner explains
	}
	u.trustOpen = true
	warning := widget.NewLabel(lang.L(trustWarning, map[string]any{"Address": ce.Address}))
	warning.Wrapping = fyne.TextWrapWord
	advice := widget.NewLabel(lang.L("Ask the person who runs the server to read you its fingerprint (shown by its \"Host a server\" switch or in parleyd's log) and compare it with the one shown now. Trust it only if they match."))
	advice.Wrapping = fyne.TextWrapWord
	mono := fyne.TextStyle{Monospace: true}
	form := widget.NewForm(
		widget.NewFormItem(lang.L("Trusted before"), widget.NewLabelWithStyle(ce.Pinned, fyne.TextAlignLeading, mono)),
		widget.NewFormItem(lang.L("Shown now"), widget.NewLabelWithStyle(ce.Presented, fyne.TextAlignLeading, mono)),
	)
	content := container.NewVBox(warning, form, advice)
	d := dialog.NewCustomConfirm(lang.L("The server's identity changed"), lang.L("Trust the new certificate"), lang.L("Cancel"),
		container.NewGridWrap(fyne.NewSize(440, content.MinSize().Height+120), content), func(accept bool) {
			u.trustOpen = false
			if !accept {
				u.trustDismissed = ce.Fingerprint
				return
			}
			u.async(func() {
				err := tr.TrustServer(ce.Address, ce.Fingerprint)
				fyne.Do(func() {
					if err != nil {
						u.showError(err)
						return
					}
					u.showError(nil)
					if retry != nil {
						retry()
					}
				})
			})
		}, u.win)
	d.SetConfirmImportance(widget.DangerImportance)
	u.trustDialog = d
	d.Show()
	return true
}

// askTrustStatus is askTrust for the connection status: a stopped
// account's changed certificate prompts once; after Cancel the same
// certificate prompts again only when the user connects or signs in.
func (u *UI) askTrustStatus(err error) {
	var ce *CertificateChangedError
	if errors.As(err, &ce) && ce.Fingerprint == u.trustDismissed {
		return
	}
	u.askTrust(err, u.resumeAfterTrust)
}

// resumeAfterTrust shows the main screen when accepting a certificate
// brought a stopped account back (its status has a user again).
func (u *UI) resumeAfterTrust() {
	if u.d.Messenger.Status().User != "" && u.screen != "main" {
		u.showMain()
	}
}

// serverFingerprint returns the short fingerprint pinned for address, for
// display; "" when none is or the messenger does not pin.
func (u *UI) serverFingerprint(address string) string {
	if tr, ok := u.d.Messenger.(Trust); ok {
		return tr.ServerFingerprint(address)
	}
	return ""
}
