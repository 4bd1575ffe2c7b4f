package server

import (
	"net/netip"
	gosync "sync"
	"time"

	"golang.org/x/time/rate"
)

// signinLimiter limits password sign-ins (login and register, which each
// cost an argon2id hash) per account and per client address, so that
// guessing a password is slow and one machine cannot keep the server's
// hashing slots busy. Token sign-ins are not limited: a token is 256
// random bits.
//
// Each key has a token bucket; keys whose bucket is full again are
// forgotten once more than maxSigninKeys are kept, so the maps stay
// bounded.
type signinLimiter struct {
	mu       gosync.Mutex
	accounts map[string]*rate.Limiter
	addrs    map[string]*rate.Limiter
	account  rate.Limit
	accBurst int
	addr     rate.Limit
	adBurst  int
	now      func() time.Time
	loopback bool // limit loopback addresses too
}

// maxSigninKeys bounds each map before idle keys are swept.
const maxSigninKeys = 4096

func newSigninLimiter(cfg Config) *signinLimiter {
	return &signinLimiter{
		accounts: make(map[string]*rate.Limiter), addrs: make(map[string]*rate.Limiter),
		account: rate.Every(cfg.SigninAccountEvery), accBurst: cfg.SigninAccountBurst,
		addr: rate.Every(cfg.SigninAddrEvery), adBurst: cfg.SigninAddrBurst,
		now: cfg.Now, loopback: cfg.SigninLimitLoopback,
	}
}

// allow takes one attempt from the address's bucket and, if account is
// set, from the account's. It returns the wait before the refused bucket
// has an attempt again, 0 if allowed.
func (l *signinLimiter) allow(account, addr string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	var ra *rate.Reservation
	if ip, err := netip.ParseAddr(addr); l.loopback || err != nil || !ip.IsLoopback() {
		ra = l.bucket(l.addrs, addr, l.addr, l.adBurst, now).ReserveN(now, 1)
		if d := ra.DelayFrom(now); d > 0 {
			ra.CancelAt(now)
			return d
		}
	}
	if account != "" {
		rc := l.bucket(l.accounts, account, l.account, l.accBurst, now).ReserveN(now, 1)
		if d := rc.DelayFrom(now); d > 0 {
			rc.CancelAt(now)
			if ra != nil {
				ra.CancelAt(now)
			}
			return d
		}
	}
	return 0
}

func (l *signinLimiter) bucket(m map[string]*rate.Limiter, key string, every rate.Limit, burst int, now time.Time) *rate.Limiter {
	if b, ok := m[key]; ok {
		return b
	}
	if len(m) >= maxSigninKeys {
		for k, b := range m {
			if b.TokensAt(now) >= float64(burst) {
				delete(m, k)
			}
		}
	}
	b := rate.NewLimiter(every, burst)
	m[key] = b
	return b
}
