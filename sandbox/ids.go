package sandbox

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"sync/atomic"
	"time"
)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// randomString returns n random base62 characters from crypto/rand: IDs
// double as capabilities here (client secrets, the checkout and invoice page
// URLs), so they must not be guessable.
func randomString(n int) string {
	b := make([]byte, n)
	buf := make([]byte, n*2)
	if _, err := rand.Read(buf); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	j := 0
	for i := 0; i < n; {
		if j == len(buf) {
			rand.Read(buf)
			j = 0
		}
		c := buf[j]
		j++
		if c >= 248 { // 248 = 4*62: reject to keep the distribution uniform
			continue
		}
		b[i] = base62[c%62]
		i++
	}
	return string(b)
}

// ids makes a sandbox's object IDs.
type ids struct {
	last atomic.Int64 // the last time stamp put in an ID, in microseconds
}

// newID returns a Stripe-looking ID: prefix_, "1", ten base62 characters of
// a strictly increasing microsecond stamp, and 13 random characters. Like
// Stripe's, the IDs of one kind sort in creation order, which clients use to
// break ties between objects created in the same second (AppWheel's adapter
// does). The stamp is now, the sandbox's wall clock, not the test clock: it
// only orders, across restarts too.
func (g *ids) newID(prefix string, now time.Time) string {
	stamp := now.UnixMicro()
	for {
		last := g.last.Load()
		if stamp <= last {
			stamp = last + 1
		}
		if g.last.CompareAndSwap(last, stamp) {
			break
		}
	}
	var enc [10]byte
	for i := len(enc) - 1; i >= 0; i-- {
		enc[i] = base62[stamp%62]
		stamp /= 62
	}
	return prefix + "_1" + string(enc[:]) + randomString(13)
}

// newID returns a new ID of the sandbox's for an object of the account.
func (t *tx) newID(prefix string) string { return t.s.ids.newID(prefix, t.s.now()) }

// keyHash identifies an account by its secret key without keeping the key:
// snapshots and logs hold only this hash.
func keyHash(secretKey string) string {
	sum := sha256.Sum256([]byte("appwheel-sandbox-account:" + secretKey))
	return hex.EncodeToString(sum[:16])
}
