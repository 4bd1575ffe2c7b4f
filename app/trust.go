package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"

	"parley/server/wire"
	"parley/sync"
	"parley/ui"
)

// pinFileName is the app's pin file in the accounts folder: one pinned
// certificate fingerprint per server address, shared by the reachability
// check and every account (like SSH's known_hosts).
const pinFileName = "known-servers.json"

// pinStore returns the app's pin file, opening it at first use.
func (m *messenger) pinStore() (*sync.PinFile, error) {
	m.pinsOnce.Do(func() {
		if m.pins == nil {
			m.pins, m.pinsErr = sync.OpenPinFile(filepath.Join(m.dir, pinFileName))
		}
	})
	return m.pins, m.pinsErr
}

// checkServer asks addr's /healthz over TLS under the pin rule (the first
// use pins, a changed certificate fails before the request is sent). It
// returns the error the user should see.
func (m *messenger) checkServer(ctx context.Context, addr string) error {
	pins, err := m.pinStore()
	if err != nil {
		return err
	}
	key, err := sync.PinAddress(addr)
	if err != nil {
		return err
	}
	tr := &http.Transport{Proxy: nil, TLSClientConfig: sync.TLSConfig(pins, key, m.log)}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+addr+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		var fe *sync.FingerprintError
		if errors.As(err, &fe) {
			return userError(fe)
		}
		return userError(fmt.Errorf("%w: %v", sync.ErrServerUnreachable, err))
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%w: not a Parley server (HTTP %d)", ui.ErrServerUnreachable, resp.StatusCode)
	}
	return nil
}

// trustError turns a changed-certificate error from sync into the ui's
// (nil if err is not one).
func trustError(err error) error {
	var fe *sync.FingerprintError
	if !errors.As(err, &fe) {
		return nil
	}
	return &ui.CertificateChangedError{Address: fe.Address, Pinned: fe.Pinned.Short(), Presented: fe.Presented.Short(),
		Fingerprint: fe.Presented.String(), Err: err}
}

// ServerFingerprint implements ui.Trust.
func (m *messenger) ServerFingerprint(address string) string {
	pins, err := m.pinStore()
	if err != nil {
		return ""
	}
	key, err := sync.PinAddress(address)
	if err != nil {
		return ""
	}
	fp, err := pins.Pinned(context.Background(), key)
	if err != nil {
		return ""
	}
	return fp.Short()
}

// TrustServer implements ui.Trust: it pins fingerprint for address and, if
// the current account stopped on that server because of the old pin,
// starts it again with its stored sign-in.
func (m *messenger) TrustServer(address, fingerprint string) error {
	fp, err := wire.ParseFingerprint(fingerprint)
	if err != nil {
		return fmt.Errorf("trust %s: %w", address, err)
	}
	pins, err := m.pinStore()
	if err != nil {
		return fmt.Errorf("trust %s: %w", address, err)
	}
	key, err := sync.PinAddress(address)
	if err != nil {
		return fmt.Errorf("trust %s: %w", address, err)
	}
	if err := pins.Pin(context.Background(), key, fp); err != nil {
		return fmt.Errorf("trust %s: %w", address, err)
	}
	m.log.Warn("the user accepted a changed server certificate", "server", key, "fingerprint", fp.String())
	m.mu.Lock()
	acc := m.acc
	m.mu.Unlock()
	if acc == nil {
		return nil
	}
	if st, serr := acc.c.State(); st == sync.StateStopped && errors.Is(serr, sync.ErrFingerprintChanged) {
		if accKey, _ := sync.PinAddress(acc.server); accKey == key {
			m.restore(acc.server, acc.user)
		}
	}
	return nil
}
