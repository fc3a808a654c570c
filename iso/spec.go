package iso

import (
	"fmt"
	"sync"

	"github.com/moov-io/iso8583"
	"github.com/moov-io/iso8583/encoding"
	"github.com/moov-io/iso8583/field"
	"github.com/moov-io/iso8583/prefix"
	"github.com/moov-io/iso8583/specs"
)

// specName is the name published in the exported JSON spec, so a client can
// tell the project's profile apart from moov-io's stock specs.
const specName = "ledgersim ISO 8583:1987 ASCII profile v1"

// bitmapBytes is the size of one bitmap block. moov-io's Spec87ASCII declares
// a single 16-byte (128-bit, 32 hex characters) bitmap that is always sent in
// full and never sets bit 1. The profile, like most ISO 8583 ASCII hosts,
// wants 8-byte blocks: 16 hex characters, followed by another 16 when bit 1
// announces the secondary bitmap. moov-io's bitmap auto-expands in 8-byte
// blocks when its length is 8, so only the length changes.
const bitmapBytes = 8

var buildSpec = sync.OnceValues(func() (*iso8583.MessageSpec, error) {
	s := &iso8583.MessageSpec{
		Name:   specName,
		Fields: make(map[int]field.Field, len(specs.Spec87ASCII.Fields)+2),
	}
	for id, f := range specs.Spec87ASCII.Fields {
		c, err := copyField(f)
		if err != nil {
			return nil, fmt.Errorf("iso: copy field %d of Spec87ASCII: %w", id, err)
		}
		s.Fields[id] = c
	}
	// The copy above owns its field.Spec values, so changing the bitmap
	// length here leaves moov-io's global spec untouched.
	s.Fields[1].Spec().Length = bitmapBytes
	s.Fields[70] = field.NewString(&field.Spec{
		Length:      3,
		Description: "Network Management Information Code",
		Enc:         encoding.ASCII,
		Pref:        prefix.ASCII.Fixed,
	})
	s.Fields[95] = field.NewString(&field.Spec{
		Length:      42,
		Description: "Replacement Amounts",
		Enc:         encoding.ASCII,
		Pref:        prefix.ASCII.Fixed,
	})
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("iso: spec: %w", err)
	}
	return s, nil
})

// copyField returns a field of the same type with its own copy of the
// field.Spec, so nothing the package does can reach moov-io's shared
// Spec87ASCII. Spec87ASCII only uses the three types handled here; the
// encoders, prefixers and padders inside a Spec are stateless values and may
// be shared.
func copyField(f field.Field) (field.Field, error) {
	sp := *f.Spec()
	switch f.(type) {
	case *field.String:
		return field.NewString(&sp), nil
	case *field.Numeric:
		return field.NewNumeric(&sp), nil
	case *field.Bitmap:
		return field.NewBitmap(&sp), nil
	default:
		return nil, fmt.Errorf("unsupported field type %T", f)
	}
}

// Spec returns the project's message spec: moov-io's specs.Spec87ASCII with
// 8-byte bitmap blocks (see the package documentation), plus DE 70 (network
// management information code, n 3 fixed) and DE 95 (replacement amounts,
// ans 42 fixed). It is built once; callers must treat it as read-only.
func Spec() *iso8583.MessageSpec {
	s, err := buildSpec()
	if err != nil {
		// The spec is built from constants, so an error here is a
		// programming error that every test run would hit first.
		panic(err)
	}
	return s
}

var specJSON = sync.OnceValues(func() ([]byte, error) {
	return specs.ExportJSON(Spec())
})

// SpecJSON returns Spec() exported with moov-io's specs.ExportJSON, so a
// client can load the exact profile with specs.ImportJSON. Each call returns
// its own copy, so the caller may keep or modify it.
func SpecJSON() ([]byte, error) {
	b, err := specJSON()
	if err != nil {
		return nil, fmt.Errorf("iso: export spec: %w", err)
	}
	return append([]byte(nil), b...), nil
}
