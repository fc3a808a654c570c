package eventlog

import (
	"strconv"

	"github.com/ledgersim/ledgersim/internal/jsonenc"
)

var appendJSONString = jsonenc.AppendString

func appendKey(dst []byte, sep byte, key string) []byte {
	dst = append(dst, sep, '"')
	dst = append(dst, key...)
	return append(dst, '"', ':')
}

func appendInt(dst []byte, v int64) []byte { return strconv.AppendInt(dst, v, 10) }
