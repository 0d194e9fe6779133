//go:build linux && cgo

package aio_test

import (
	"archive/zip"
	"bytes"
	"debug/elf"
	"fmt"
	"io"
	"math/rand"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// debug/elf reads a real executable (this test's own) through an O_DIRECT
// File at the offsets its headers give, and finds what elf.Open finds.
func TestElfDirect(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	file, ctx, name := directOf(t, raw, 16)
	ref, err := elf.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	ef, err := elf.NewFile(file)
	if err != nil {
		t.Fatalf("elf.NewFile over an O_DIRECT File: %v", err)
	}
	if ef.FileHeader != ref.FileHeader || len(ef.Sections) != len(ref.Sections) || len(ef.Progs) != len(ref.Progs) {
		t.Fatalf("header %+v, %d sections, %d programs; elf.Open: %+v, %d, %d",
			ef.FileHeader, len(ef.Sections), len(ef.Progs), ref.FileHeader, len(ref.Sections), len(ref.Progs))
	}
	for i, s := range ef.Sections {
		r := ref.Sections[i]
		if s.SectionHeader != r.SectionHeader {
			t.Fatalf("section %d: %+v; elf.Open: %+v", i, s.SectionHeader, r.SectionHeader)
		}
		if s.Type == elf.SHT_NOBITS {
			continue
		}
		got, err := s.Data()
		want, rerr := r.Data()
		if err != nil || rerr != nil || !bytes.Equal(got, want) {
			t.Fatalf("section %s: %d bytes, %v; elf.Open: %d bytes, %v", s.Name, len(got), err, len(want), rerr)
		}
	}
	// go test strips its binaries' symbol table (Symbols finds none
	// either way); the dynamic symbols of the cgo build remain.
	for _, table := range []struct {
		name string
		syms func(*elf.File) ([]elf.Symbol, error)
		need bool
	}{{"dynamic symbols", (*elf.File).DynamicSymbols, true}, {"symbols", (*elf.File).Symbols, false}} {
		syms, err := table.syms(ef)
		want, rerr := table.syms(ref)
		if (err == nil) != (rerr == nil) || len(syms) != len(want) || table.need && len(syms) == 0 {
			t.Fatalf("%d %s, %v; elf.Open: %d, %v", len(syms), table.name, err, len(want), rerr)
		}
		for i := range syms {
			if syms[i] != want[i] {
				t.Fatalf("%s %d: %+v; elf.Open: %+v", table.name, i, syms[i], want[i])
			}
		}
	}
	libs, err := ef.ImportedLibraries()
	wantLibs, _ := ref.ImportedLibraries()
	if err != nil || strings.Join(libs, " ") != strings.Join(wantLibs, " ") || len(libs) == 0 {
		t.Fatalf("imported libraries %q, %v; elf.Open: %q", libs, err, wantLibs)
	}
	if st := ctx.Stats(); st.BouncedReads == 0 {
		t.Fatalf("Stats %+v: debug/elf's reads all aligned?", st)
	}
}

// archive/zip reads every entry of an archive, stored and deflated, small
// and large, through an O_DIRECT File.
func TestZipDirect(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	want := map[string][]byte{}
	for i := range 40 {
		n := rng.Intn(3000)
		if i%7 == 0 {
			n = rng.Intn(300 << 10)
		}
		data := make([]byte, n)
		if i%2 == 0 {
			rng.Read(data) // incompressible
		} else {
			for j := range data {
				data[j] = "abcdefgh"[rng.Intn(8)]
			}
		}
		name := fmt.Sprintf("dir%d/entry-%d.bin", i%3, i)
		method := zip.Deflate
		if i%3 == 0 {
			method = zip.Store
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: method})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
		want[name] = data
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	file, _, _ := directOf(t, buf.Bytes(), 8)
	checkZip(t, file, int64(buf.Len()), want)
}

// http.ServeContent serves an O_DIRECT File through an io.SectionReader to
// a real client: whole, single ranges at odd offsets, suffixes, and
// multi-range requests, byte for byte.
func TestServeContentDirect(t *testing.T) {
	const size = 1<<20 + 4097
	data := pattern(size, 21)
	file, _, _ := directOf(t, data, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		http.ServeContent(w, r, "data.bin", time.Time{}, io.NewSectionReader(file, 0, size))
	}))
	defer srv.Close()
	client := srv.Client()
	defer client.CloseIdleConnections()

	get := func(rng string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL, nil)
		if rng != "" {
			req.Header.Set("Range", "bytes="+rng)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	body := func(r io.Reader) []byte {
		t.Helper()
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	resp := get("")
	if got := body(resp.Body); resp.StatusCode != 200 || !bytes.Equal(got, data) {
		t.Fatalf("whole file: %s, %d bytes", resp.Status, len(got))
	}
	resp.Body.Close()

	for _, c := range []struct {
		rng        string
		start, end int // the bytes wanted, end exclusive
	}{
		{"1-1", 1, 2},
		{"7-5000", 7, 5001},
		{"4095-8192", 4095, 8193},
		{"333333-999999", 333333, 1000000},
		{"-17", size - 17, size},
		{strconv.Itoa(size-3) + "-", size - 3, size},
		{"1048575-", 1048575, size},
	} {
		resp := get(c.rng)
		got := body(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(got, data[c.start:c.end]) {
			t.Fatalf("range %s: %s, %d bytes; want %d", c.rng, resp.Status, len(got), c.end-c.start)
		}
	}

	// Several ranges: a multipart/byteranges body, a part each.
	ranges := [][2]int{{0, 0}, {100, 200}, {5003, 6001}, {size - 5, size - 1}}
	var spec []string
	for _, r := range ranges {
		spec = append(spec, fmt.Sprintf("%d-%d", r[0], r[1]))
	}
	resp = get(strings.Join(spec, ","))
	defer resp.Body.Close()
	mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if resp.StatusCode != http.StatusPartialContent || err != nil || mt != "multipart/byteranges" {
		t.Fatalf("multi-range: %s, %q, %v", resp.Status, resp.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(resp.Body, params["boundary"])
	for i, r := range ranges {
		part, err := mr.NextPart()
		if err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
		cr := fmt.Sprintf("bytes %d-%d/%d", r[0], r[1], size)
		if got := body(part); part.Header.Get("Content-Range") != cr || !bytes.Equal(got, data[r[0]:r[1]+1]) {
			t.Fatalf("part %d: %q, %d bytes; want %q", i, part.Header.Get("Content-Range"), len(got), cr)
		}
	}
	if _, err := mr.NextPart(); err != io.EOF {
		t.Fatalf("after the parts: %v", err)
	}
}
