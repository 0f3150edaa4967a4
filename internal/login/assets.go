package login

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
)

// assets serves the embedded static files under content-hash URLs
// (/login/assets/<hash>/<name>), cached for a year: a changed file gets a
// new URL, so browsers never see a stale stylesheet.
type assets struct {
	files map[string]asset // by name
}

type asset struct {
	hash        string
	body        []byte
	contentType string
}

func loadAssets(fsys fs.FS) (*assets, error) {
	a := &assets{files: map[string]asset{}}
	err := fs.WalkDir(fsys, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ct := mime.TypeByExtension(path.Ext(p))
		if ct == "" {
			ct = "application/octet-stream"
		}
		a.files[path.Base(p)] = asset{hash: hex.EncodeToString(sum[:8]), body: b, contentType: ct}
		return nil
	})
	return a, err
}

// url is the content-hash URL of a file; it panics for a file that is not
// embedded (a build error caught at start).
func (a *assets) url(name string) string {
	f, ok := a.files[name]
	if !ok {
		panic("login: asset " + name + " is not embedded")
	}
	return "/login/assets/" + f.hash + "/" + name
}

func (a *assets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f, ok := a.files[r.PathValue("name")]
	if !ok || r.PathValue("hash") != f.hash {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.contentType)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(f.body)
}
