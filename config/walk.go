package config

import (
	"reflect"
	"slices"
	"strings"
)

// walkFields calls fn with the path and value of every field of v (a struct, pointer, slice or
// map of them), depth first, map keys sorted. Paths are the ones the decoder reports. It lets
// validation and secret resolution reach every Duration, ByteSize and Secret without a list that
// could fall out of date when a field is added.
func walkFields(v reflect.Value, path string, fn func(path string, v reflect.Value)) {
	fn(path, v)
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			walkFields(v.Elem(), path, fn)
		}
	case reflect.Struct:
		si := structInfoOf(v.Type())
		for _, k := range si.keys {
			walkFields(v.Field(si.index[k]), joinPath(path, k), fn)
		}
	case reflect.Slice:
		for i := range v.Len() {
			walkFields(v.Index(i), indexPath(path, i), fn)
		}
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			return
		}
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		for _, k := range keys {
			walkFields(v.MapIndex(k), mapPath(path, k.String()), fn)
		}
	}
}
