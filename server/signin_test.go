package server

import (
	gosync "sync"
	"testing"
	"time"

	"parley/server/wire"
)

// fakeClock is a clock a test moves by hand.
type fakeClock struct {
	mu  gosync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// TestSigninRateLimit: password sign-ins are limited per account and per
// address with rate_limited (and CloseRateLimited), before any hash; the
// buckets refill with time; loopback is exempt from the address limit
// unless asked.
func TestSigninRateLimit(t *testing.T) {
	type attempt struct {
		user, password string
		want           wire.Code // "" for a welcome
		advance        time.Duration
	}
	tests := []struct {
		name   string
		config func(*Config)
		users  []string
		tries  []attempt
	}{
		{
			name: "per account",
			config: func(c *Config) {
				c.SigninAccountBurst, c.SigninAccountEvery = 3, time.Minute
				c.SigninAddrBurst, c.SigninLimitLoopback = 1000, true
			},
			users: []string{"alice", "bob"},
			tries: []attempt{
				{user: "alice", password: "guess0001", want: wire.CodeAuthFailed},
				{user: "alice", password: "guess0002", want: wire.CodeAuthFailed},
				{user: "ALICE", password: "guess0003", want: wire.CodeAuthFailed},
				{user: "alice", password: "password-alice", want: wire.CodeRateLimited},
				{user: "\u0430lice", password: "guess0004", want: wire.CodeRateLimited}, // a look-alike is the same account
				{user: "bob", password: "password-bob"},
				{user: "alice", password: "password-alice", advance: time.Minute},
				{user: "alice", password: "guess0005", want: wire.CodeRateLimited},
			},
		},
		{
			name: "per address",
			config: func(c *Config) {
				c.SigninAccountBurst = 1000
				c.SigninAddrBurst, c.SigninAddrEvery, c.SigninLimitLoopback = 3, time.Minute, true
			},
			tries: []attempt{
				{user: "nobody1", password: "guess0001", want: wire.CodeAuthFailed},
				{user: "nobody2", password: "guess0002", want: wire.CodeAuthFailed},
				{user: "nobody3", password: "guess0003", want: wire.CodeAuthFailed},
				{user: "nobody4", password: "guess0004", want: wire.CodeRateLimited},
				{user: "nobody5", password: "guess0005", want: wire.CodeAuthFailed, advance: time.Minute},
			},
		},
		{
			name: "loopback exempt from the address limit by default",
			config: func(c *Config) {
				c.SigninAccountBurst = 1000
				c.SigninAddrBurst, c.SigninAddrEvery = 2, time.Hour
			},
			tries: []attempt{
				{user: "nobody1", password: "guess0001", want: wire.CodeAuthFailed},
				{user: "nobody2", password: "guess0002", want: wire.CodeAuthFailed},
				{user: "nobody3", password: "guess0003", want: wire.CodeAuthFailed},
				{user: "nobody4", password: "guess0004", want: wire.CodeAuthFailed},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := &fakeClock{now: time.Now()}
			ts := startServer(t, tc.config, func(c *Config) { c.Now = clock.Now })
			for _, u := range tc.users {
				register(t, ts, u).close()
			}
			for i, a := range tc.tries {
				clock.advance(a.advance)
				c := dial(t, ts.url())
				env := c.request(wire.TypeHello, wire.Hello{Protocol: wire.ProtocolVersion, Auth: wire.Auth{Mode: wire.AuthLogin, Username: a.user, Password: a.password}})
				got := wire.Code("")
				if env.Type == wire.TypeError {
					got = decodeAs[wire.Error](&env).Code
				}
				if got != a.want {
					t.Errorf("attempt %d (%s): answer %s %s, want code %q", i, a.user, env.Type, env.Payload, a.want)
				}
				if got == wire.CodeRateLimited {
					if code := c.closeCode(); code != wire.CloseRateLimited {
						t.Errorf("attempt %d: closed with %d, want %d", i, code, wire.CloseRateLimited)
					}
				}
				c.close()
			}
		})
	}
}
