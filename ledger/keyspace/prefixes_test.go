package keyspace

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestPrefixesAreDistinct: every key family's prefix, as declared in this
// package's source, ends in '/', is not the store's own (m/), and is
// neither equal to nor a prefix of another's, so that a scan of one family
// never reads another's keys.
func TestPrefixesAreDistinct(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	prefixes := map[string]string{} // prefix -> constant
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			spec, ok := n.(*ast.ValueSpec)
			if !ok {
				return true
			}
			for i, id := range spec.Names {
				if !strings.HasPrefix(id.Name, "p") || i >= len(spec.Values) {
					continue
				}
				lit, ok := spec.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					continue
				}
				v, err := strconv.Unquote(lit.Value)
				if err != nil {
					t.Fatal(err)
				}
				if other, dup := prefixes[v]; dup {
					t.Errorf("%s and %s are both %q", other, id.Name, v)
				}
				prefixes[v] = id.Name
			}
			return true
		})
	}
	if len(prefixes) < 30 {
		t.Fatalf("found %d prefixes; the declarations moved?", len(prefixes))
	}
	for p, name := range prefixes {
		if !strings.HasSuffix(p, "/") {
			t.Errorf("%s = %q does not end in '/'", name, p)
		}
		if strings.HasPrefix(p, "m/") {
			t.Errorf("%s = %q is in the store's own metadata family", name, p)
		}
		for q, other := range prefixes {
			if p != q && strings.HasPrefix(q, p) {
				t.Errorf("%s = %q is a prefix of %s = %q", name, p, other, q)
			}
		}
	}
}
