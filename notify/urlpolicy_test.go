package notify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/appwheel/appwheel"
)

// stubLookup resolves only the names in m; any other name (and so any
// literal IP that reached the resolver) fails the test.
func stubLookup(t *testing.T, m map[string][]string) func(context.Context, string) ([]netip.Addr, error) {
	return func(_ context.Context, host string) ([]netip.Addr, error) {
		ss, ok := m[host]
		if !ok {
			t.Errorf("unexpected lookup of %q", host)
			return nil, fmt.Errorf("no such host %q", host)
		}
		var out []netip.Addr
		for _, s := range ss {
			out = append(out, netip.MustParseAddr(s))
		}
		return out, nil
	}
}

func TestURLPolicyCheckURL(t *testing.T) {
	names := map[string][]string{
		"internal.example.com": {"10.0.0.5"},
		"public.example.com":   {"93.184.216.34"},
		"mixed.example.com":    {"93.184.216.34", "192.168.1.1"},
		"mapped.example.com":   {"::ffff:169.254.169.254"},
		"v6.example.com":       {"2606:2800:220:1:248:1893:25c8:1946"},
		"empty.example.com":    {},
	}
	var (
		def     = URLPolicy{}
		httpOK  = URLPolicy{AllowHTTP: true}
		private = URLPolicy{AllowPrivate: true}
		dev     = URLPolicy{AllowPrivate: true, AllowHTTP: true}
	)
	long := "https://public.example.com/" + strings.Repeat("a", 3000-len("https://public.example.com/"))
	tests := []struct {
		name   string
		policy URLPolicy
		raw    string
		ok     bool
		want   string // a substring of the error message
	}{
		{"http public", def, "http://example.com", false, "https://"},
		{"http public AllowHTTP", httpOK, "http://example.com/", false, "https://"},
		{"http loopback default", def, "http://127.0.0.1:8080/x", false, "https://"},
		{"http loopback AllowPrivate only", private, "http://127.0.0.1:8080/x", false, "https://"},
		{"http loopback AllowHTTP only", httpOK, "http://127.0.0.1:8080/x", false, "loopback"},
		{"http localhost AllowHTTP only", httpOK, "http://localhost:9/x", false, "--allow-private-webhook-urls"},
		{"http loopback dev", dev, "http://127.0.0.1:8080/x", true, ""},
		{"http localhost dev", dev, "http://localhost:9/x", true, ""},
		{"http [::1] dev", dev, "http://[::1]:9/x", true, ""},
		{"http private dev", dev, "http://10.1.2.3/x", false, "https://"},

		{"loopback", def, "https://127.0.0.1/", false, "127.0.0.1 is a loopback address"},
		{"rfc1918", def, "https://10.1.2.3/", false, "10.1.2.3 is a private address"},
		{"metadata", def, "https://169.254.169.254/latest/meta-data", false, "169.254.169.254 is a link-local address"},
		{"v6 loopback", def, "https://[::1]/", false, "loopback"},
		{"ula", def, "https://[fc00::1]/", false, "unique local"},
		{"link-local v6", def, "https://[fe80::1]/", false, "link-local"},
		{"cgnat", def, "https://100.64.0.1/", false, "100.64.0.0/10"},
		{"unspecified", def, "https://0.0.0.0/", false, "unspecified"},
		{"unspecified v6", def, "https://[::]/", false, "unspecified"},
		{"mapped loopback", def, "https://[::ffff:127.0.0.1]/", false, "loopback"},
		{"nat64 private", def, "https://[64:ff9b::10.0.0.1]/", false, "NAT64"},
		{"benchmarking", def, "https://198.18.0.1/", false, "198.18.0.0/15"},
		{"reserved", def, "https://240.0.0.1/", false, "240.0.0.0/4"},
		{"broadcast", def, "https://255.255.255.255/", false, "240.0.0.0/4"},
		{"this network", def, "https://0.1.2.3/", false, "0.0.0.0/8"},
		{"ietf", def, "https://192.0.0.8/", false, "192.0.0.0/24"},
		{"multicast", def, "https://224.0.0.1/", false, "multicast"},
		{"decimal ip", def, "https://2130706433/", false, "neither a valid IP address"},
		{"hex ip", def, "https://0x7f.0.0.1/", false, "neither a valid IP address"},
		{"localhost https", def, "https://localhost/", false, "--allow-private-webhook-urls"},
		{"sub.localhost", def, "https://a.localhost./", false, "loopback"},

		{"loopback AllowPrivate", private, "https://127.0.0.1/", true, ""},
		{"rfc1918 AllowPrivate", private, "https://10.1.2.3/", true, ""},
		{"metadata AllowPrivate", private, "https://169.254.169.254/latest/meta-data", true, ""},
		{"v6 loopback AllowPrivate", private, "https://[::1]/", true, ""},
		{"ula AllowPrivate", private, "https://[fc00::1]/", true, ""},
		{"cgnat AllowPrivate", private, "https://100.64.0.1/", true, ""},
		{"unspecified AllowPrivate", private, "https://0.0.0.0/", true, ""},
		{"mapped loopback AllowPrivate", private, "https://[::ffff:127.0.0.1]/", true, ""},
		{"name AllowPrivate", private, "https://internal.example.com/", true, ""},

		{"public ip", def, "https://93.184.216.34/hook", true, ""},
		{"public v6 ip", def, "https://[2606:2800:220:1:248:1893:25c8:1946]/", true, ""},
		{"nat64 public", def, "https://[64:ff9b::93.184.216.34]/", true, ""},
		{"name private", def, "https://internal.example.com/hook", false, "resolves to 10.0.0.5, a private address"},
		{"name public", def, "https://public.example.com/hook?x=1", true, ""},
		{"name public port", def, "https://public.example.com:8443/hook", true, ""},
		{"name mixed", def, "https://mixed.example.com/", false, "192.168.1.1"},
		{"name mapped metadata", def, "https://mapped.example.com/", false, "link-local"},
		{"name v6 public", def, "https://v6.example.com/", true, ""},
		{"name no address", def, "https://empty.example.com/", false, "no address"},

		{"empty", def, "", false, "required"},
		{"user info", def, "https://user:pass@public.example.com/", false, "user info"},
		{"user only", def, "https://user@public.example.com/", false, "user info"},
		{"fragment", def, "https://public.example.com/#frag", false, "fragment"},
		{"empty fragment", def, "https://public.example.com/#", false, "fragment"},
		{"relative", def, "/hooks/appwheel", false, "absolute"},
		{"schemeless", def, "public.example.com/hook", false, "absolute"},
		{"ftp", def, "ftp://public.example.com/", false, "https://"},
		{"empty host", def, "https:///path", false, "host"},
		{"port only", def, "https://:443/", false, "host"},
		{"opaque", def, "https:public.example.com", false, "host"},
		{"too long", def, long, false, "at most 2048"},
		{"port 0", def, "https://public.example.com:0/", false, "port"},
		{"port too big", def, "https://public.example.com:65536/", false, "port"},
		{"empty port", def, "https://public.example.com:/", false, "port"},
		{"space", def, "https://public.example.com/a b", false, "spaces"},
		{"bad escape", def, "https://public.example.com/%zz", false, "not a valid URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.policy
			p.lookupIP = stubLookup(t, names)
			u, err := p.CheckURL(context.Background(), tt.raw)
			if tt.ok {
				if err != nil {
					t.Fatalf("CheckURL(%q) = %v, want success", tt.raw, err)
				}
				if u == nil || u.String() != tt.raw {
					t.Fatalf("CheckURL(%q) returned URL %v", tt.raw, u)
				}
				return
			}
			if err == nil {
				t.Fatalf("CheckURL(%q) succeeded, want an error mentioning %q", tt.raw, tt.want)
			}
			if code := appwheel.ErrorCode(err); code != appwheel.EINVALID {
				t.Fatalf("CheckURL(%q) error code = %d (%v), want EINVALID", tt.raw, code, err)
			}
			if msg := appwheel.ErrorMessage(err); !strings.Contains(msg, tt.want) {
				t.Fatalf("CheckURL(%q) error %q does not mention %q", tt.raw, msg, tt.want)
			}
			if u != nil {
				t.Fatalf("CheckURL(%q) returned URL %v with an error", tt.raw, u)
			}
		})
	}
}

func TestURLPolicyCheckURLNamesFlag(t *testing.T) {
	for _, raw := range []string{
		"https://169.254.169.254/latest/meta-data",
		"https://internal.example.com/",
	} {
		p := URLPolicy{lookupIP: stubLookup(t, map[string][]string{"internal.example.com": {"10.0.0.5"}})}
		_, err := p.CheckURL(context.Background(), raw)
		if msg := appwheel.ErrorMessage(err); !strings.Contains(msg, "--allow-private-webhook-urls") {
			t.Errorf("CheckURL(%q) error %q does not name --allow-private-webhook-urls", raw, msg)
		}
	}
}

func TestURLPolicyCheckURLLookupError(t *testing.T) {
	p := URLPolicy{lookupIP: func(context.Context, string) ([]netip.Addr, error) {
		return nil, errors.New("no such host")
	}}
	_, err := p.CheckURL(context.Background(), "https://nowhere.example.com/")
	if appwheel.ErrorCode(err) != appwheel.EINVALID || !strings.Contains(appwheel.ErrorMessage(err), "cannot be resolved") {
		t.Fatalf("CheckURL with a failing lookup = %v, want EINVALID cannot be resolved", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p.lookupIP = func(ctx context.Context, _ string) ([]netip.Addr, error) { return nil, ctx.Err() }
	if _, err := p.CheckURL(ctx, "https://nowhere.example.com/"); !errors.Is(err, context.Canceled) {
		t.Fatalf("CheckURL with a canceled context = %v, want context.Canceled", err)
	}
}

func TestURLPolicyAllowed(t *testing.T) {
	tests := []struct {
		ip          string
		def, privOK bool
	}{
		{"93.184.216.34", true, true},
		{"8.8.8.8", true, true},
		{"2606:4700:4700::1111", true, true},
		{"::ffff:8.8.8.8", true, true},
		{"64:ff9b::8.8.8.8", true, true},
		{"2002:808:808::1", true, true},
		{"127.0.0.1", false, true},
		{"127.1.2.3", false, true},
		{"10.0.0.1", false, true},
		{"172.16.0.1", false, true},
		{"172.31.255.255", false, true},
		{"192.168.0.1", false, true},
		{"169.254.169.254", false, true},
		{"100.64.0.1", false, true},
		{"100.127.255.255", false, true},
		{"0.0.0.0", false, true},
		{"0.1.2.3", false, true},
		{"192.0.0.1", false, true},
		{"198.18.0.1", false, true},
		{"198.19.255.255", false, true},
		{"240.0.0.1", false, true},
		{"255.255.255.255", false, true},
		{"224.0.0.1", false, true},
		{"::", false, true},
		{"::1", false, true},
		{"fc00::1", false, true},
		{"fd12:3456::1", false, true},
		{"fe80::1", false, true},
		{"fe80::1%eth0", false, true},
		{"ff02::1", false, true},
		{"::ffff:127.0.0.1", false, true},
		{"::ffff:10.0.0.1", false, true},
		{"::ffff:169.254.169.254", false, true},
		{"64:ff9b::127.0.0.1", false, true},
		{"64:ff9b::169.254.169.254", false, true},
		{"64:ff9b:1::1", false, true},
		{"2002:7f00:1::1", false, true},
		{"2001:db8::1", false, true},
		{"::127.0.0.1", false, true},
		{"fec0::1", false, true},
	}
	for _, tt := range tests {
		ip := netip.MustParseAddr(tt.ip)
		if got := (URLPolicy{}).allowed(ip); got != tt.def {
			t.Errorf("default allowed(%s) = %v, want %v (%s)", tt.ip, got, tt.def, nonPublicReason(ip))
		}
		if got := (URLPolicy{AllowPrivate: true}).allowed(ip); got != tt.privOK {
			t.Errorf("AllowPrivate allowed(%s) = %v, want %v", tt.ip, got, tt.privOK)
		}
	}
	if (URLPolicy{AllowPrivate: true}).allowed(netip.Addr{}) {
		t.Error("allowed(invalid address) = true")
	}
}

func TestURLPolicyControl(t *testing.T) {
	tests := []struct {
		address string
		ok      bool
	}{
		{"93.184.216.34:443", true},
		{"[2606:4700:4700::1111]:443", true},
		{"127.0.0.1:443", false},
		{"169.254.169.254:80", false},
		{"[::1]:443", false},
		{"[::ffff:127.0.0.1]:443", false},
		{"[fe80::1%eth0]:443", false},
		{"not-an-address", false},
	}
	for _, tt := range tests {
		err := URLPolicy{}.control("tcp", tt.address, nil)
		if tt.ok != (err == nil) {
			t.Errorf("control(%q) = %v, want ok=%v", tt.address, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrAddressNotAllowed) {
			t.Errorf("control(%q) = %v, does not wrap ErrAddressNotAllowed", tt.address, err)
		}
	}
}

func TestURLPolicyClientRefusesPrivate(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
	}))
	defer srv.Close()

	resp, err := URLPolicy{}.Client(5 * time.Second).Get(srv.URL)
	if err == nil {
		resp.Body.Close()
		t.Fatal("GET to a loopback server succeeded with the default policy")
	}
	if !errors.Is(err, ErrAddressNotAllowed) {
		t.Fatalf("GET error = %v, want one wrapping ErrAddressNotAllowed", err)
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("server was hit %d times", n)
	}
}

func TestURLPolicyClientAllowPrivate(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	defer srv.Close()

	resp, err := URLPolicy{AllowPrivate: true}.Client(5 * time.Second).Get(srv.URL)
	if err != nil {
		t.Fatalf("GET with AllowPrivate: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || string(body) != "ok" {
		t.Fatalf("GET = %d %q, want 200 \"ok\"", resp.StatusCode, body)
	}
}

func TestURLPolicyClientNoRedirect(t *testing.T) {
	var targetHits atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		targetHits.Add(1)
	}))
	defer target.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/elsewhere", http.StatusFound)
	}))
	defer srv.Close()

	resp, err := URLPolicy{AllowPrivate: true}.Client(5 * time.Second).Get(srv.URL)
	if err != nil {
		t.Fatalf("GET: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("status = %d, want 302", resp.StatusCode)
	}
	if loc := resp.Header.Get("Location"); loc != target.URL+"/elsewhere" {
		t.Fatalf("Location = %q", loc)
	}
	if n := targetHits.Load(); n != 0 {
		t.Fatalf("redirect target was hit %d times", n)
	}
}

func TestURLPolicyClientTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(2 * time.Second):
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()

	start := time.Now()
	resp, err := URLPolicy{AllowPrivate: true}.Client(200 * time.Millisecond).Get(srv.URL)
	elapsed := time.Since(start)
	if err == nil {
		resp.Body.Close()
		t.Fatal("GET to a handler sleeping 2 s succeeded with a 200 ms timeout")
	}
	if elapsed >= 1500*time.Millisecond {
		t.Fatalf("GET returned after %v, want well under the handler's 2 s", elapsed)
	}
}

func TestURLPolicyClientSettings(t *testing.T) {
	c := URLPolicy{}.Client(3 * time.Second)
	if c.Timeout != 3*time.Second {
		t.Errorf("Timeout = %v", c.Timeout)
	}
	if c.Jar != nil {
		t.Error("client has a cookie jar")
	}
	tr, ok := c.Transport.(*http.Transport)
	if !ok {
		t.Fatalf("Transport is %T", c.Transport)
	}
	if tr.Proxy != nil {
		t.Error("transport uses a proxy")
	}
	if tr.MaxIdleConnsPerHost != 4 || tr.DisableKeepAlives {
		t.Errorf("MaxIdleConnsPerHost = %d, DisableKeepAlives = %v", tr.MaxIdleConnsPerHost, tr.DisableKeepAlives)
	}
	if tr.TLSHandshakeTimeout != 10*time.Second {
		t.Errorf("TLSHandshakeTimeout = %v", tr.TLSHandshakeTimeout)
	}
	if tr.ResponseHeaderTimeout <= 0 || tr.ResponseHeaderTimeout > c.Timeout {
		t.Errorf("ResponseHeaderTimeout = %v, want within %v", tr.ResponseHeaderTimeout, c.Timeout)
	}
}
