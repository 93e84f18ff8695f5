package e2e_test

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/appwheel/appwheel/client"
	"github.com/appwheel/appwheel/internal/pgtest"
)

// tcpProxy forwards a loopback port to PostgreSQL and can cut the link, as
// a network partition or a database restart would.
type tcpProxy struct {
	addr, target string
	mu           sync.Mutex
	ln           net.Listener
	conns        []net.Conn
}

func (p *tcpProxy) up(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", p.target)
			if err != nil {
				in.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, in, out)
			p.mu.Unlock()
			go func() { io.Copy(out, in); out.Close() }()
			go func() { io.Copy(in, out); in.Close() }()
		}
	}()
}

func (p *tcpProxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ln.Close()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// TestDatabaseUnreachable cuts a replica off its PostgreSQL: /readyz turns
// 503, API calls fail fast in the envelope instead of hanging, and both
// recover when the database is back.
func TestDatabaseUnreachable(t *testing.T) {
	base := pgtest.BaseURL()
	proxy := &tcpProxy{addr: freeAddr(t), target: "127.0.0.1:5432"}
	proxy.up(t)
	t.Cleanup(proxy.down)
	rs := startReplicasWith(t, strings.Replace(base, "127.0.0.1:5432", proxy.addr, 1), 1)
	c := ctx(t)
	cl := rs.client(0, rs.app.AppSecret)
	if _, err := cl.PaymentMethods(c, "u1"); err != nil {
		t.Fatal(err)
	}

	proxy.down()
	eventually(t, "/readyz to report the database unreachable", func() bool {
		resp, err := http.Get(rs.urls[0] + "/readyz")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var env struct{ Code int }
		json.NewDecoder(resp.Body).Decode(&env)
		return resp.StatusCode == 503 && env.Code == 5000
	})
	start := time.Now()
	_, err := cl.PaymentMethods(c, "u1")
	var ce *client.Error
	if err == nil || !errors.As(err, &ce) || (ce.Code != client.CodeInternal && ce.Code != client.CodeStripeUnavailable) {
		t.Errorf("call with the database down: err = %v; want a 5000 or 2002 envelope", err)
	}
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("call with the database down took %v; want it to fail fast", took)
	}

	proxy.up(t)
	eventually(t, "/readyz to recover", func() bool {
		resp, err := http.Get(rs.urls[0] + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	eventually(t, "the API to recover", func() bool {
		_, err := cl.PaymentMethods(c, "u1")
		return err == nil
	})
}
