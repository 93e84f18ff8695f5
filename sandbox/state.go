package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// snapshot is the state file: every account and the webhook deliveries not
// yet done.
type snapshotFile struct {
	Version    int                 `json:"version"`
	Note       string              `json:"note"`
	Accounts   map[string]*account `json:"accounts"`
	Deliveries []*delivery         `json:"deliveries"`
}

const snapshotVersion = 1

// snapshot marshals the state. Called under the state lock.
func (s *Sandbox) snapshot() []byte {
	b, err := json.Marshal(snapshotFile{
		Version:    snapshotVersion,
		Note:       "AppWheel Stripe sandbox state, for development and tests only; accounts are keyed by a hash of their secret key",
		Accounts:   s.accounts,
		Deliveries: s.deliver.pending(),
	})
	if err != nil {
		panic(err) // our own types always marshal
	}
	return b
}

// persister writes snapshots to path, in order: a snapshot older than the
// last one written is skipped, since the state lock is released before the
// file is written.
type persister struct {
	path    string
	mu      sync.Mutex
	written uint64
}

// write replaces the file atomically: a temp file in the same directory,
// renamed over it, so a crash never leaves half a snapshot. (No fsync: the
// sandbox trades durability across power loss for speed in tests.)
func (p *persister) write(gen uint64, data []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if gen <= p.written {
		return nil
	}
	dir := filepath.Dir(p.path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(p.path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, p.path); err != nil {
		os.Remove(tmp)
		return err
	}
	p.written = gen
	return nil
}

// load reads the snapshot; nil when there is no path or no file yet.
func (p *persister) load() (*snapshotFile, error) {
	if p.path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(p.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var snap snapshotFile
	if err := json.Unmarshal(b, &snap); err != nil {
		return nil, fmt.Errorf("%s: %w", p.path, err)
	}
	if snap.Version != snapshotVersion {
		return nil, fmt.Errorf("%s: snapshot version %d, want %d", p.path, snap.Version, snapshotVersion)
	}
	if snap.Accounts == nil {
		snap.Accounts = map[string]*account{}
	}
	for _, a := range snap.Accounts {
		if a.Idempotency == nil {
			a.Idempotency = map[string]*idemRecord{}
		}
	}
	return &snap, nil
}
