// Package pdfcheck opens PDFs the way a reader does, for tests: it renders
// a page to an image with poppler's pdftoppm and extracts the text with
// pdftotext (Debian's poppler-utils, which .ci/run installs). Without them
// a test skips and says so; under CI, where they must be there, it fails.
// It is test support only: nothing in the binary imports it.
package pdfcheck

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// tool finds a poppler program or ends the test.
func tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	msg := name + " is not on PATH: install Debian's poppler-utils (.ci/run does)"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

func write(t testing.TB, doc []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(path, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Render rasterizes page (1-based) of doc at dpi and returns the image.
// pdftoppm fails on a document it cannot parse, which fails the test.
func Render(t testing.TB, doc []byte, page, dpi int) image.Image {
	t.Helper()
	bin := tool(t, "pdftoppm")
	in := write(t, doc)
	n := strconv.Itoa(page)
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "-png", "-r", strconv.Itoa(dpi), "-f", n, "-l", n, "-singlefile", in, filepath.Join(filepath.Dir(in), "page"))
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("pdftoppm: %v: %s", err, stderr.String())
	}
	if stderr.Len() > 0 {
		// Poppler reports what it had to repair; a well-formed
		// document needs none.
		t.Fatalf("pdftoppm complained: %s", stderr.String())
	}
	f, err := os.Open(filepath.Join(filepath.Dir(in), "page.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// Text extracts doc's text, pages in order, keeping the layout.
func Text(t testing.TB, doc []byte) string {
	t.Helper()
	bin := tool(t, "pdftotext")
	in := write(t, doc)
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, "-layout", "-enc", "UTF-8", in, "-")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("pdftotext: %v: %s", err, stderr.String())
	}
	if stderr.Len() > 0 {
		t.Fatalf("pdftotext complained: %s", stderr.String())
	}
	return stdout.String()
}

// Pages is the page count pdfinfo reads from doc.
func Pages(t testing.TB, doc []byte) int {
	t.Helper()
	bin := tool(t, "pdfinfo")
	out, err := exec.Command(bin, write(t, doc)).CombinedOutput()
	if err != nil {
		t.Fatalf("pdfinfo: %v: %s", err, out)
	}
	for _, line := range bytes.Split(out, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("Pages:")); ok {
			n, err := strconv.Atoi(string(bytes.TrimSpace(v)))
			if err != nil {
				t.Fatalf("pdfinfo: %q", line)
			}
			return n
		}
	}
	t.Fatalf("pdfinfo printed no page count: %s", out)
	return 0
}

// InkFraction is the share of img's pixels that are not near white: 0 for
// a blank page.
func InkFraction(img image.Image) float64 {
	b := img.Bounds()
	inked := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if r < 0xC000 || g < 0xC000 || bl < 0xC000 {
				inked++
			}
		}
	}
	total := b.Dx() * b.Dy()
	if total == 0 {
		return 0
	}
	return float64(inked) / float64(total)
}

// SavePNG writes img to path, to look at a rendered page.
func SavePNG(t testing.TB, img image.Image, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}
