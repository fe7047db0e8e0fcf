package engine

import (
	"testing"
	"unsafe"
)

// TestRequestFitsItsSizeClass: every connection with a request in flight
// holds one pooled request, so at 1000 connections each byte is a
// kilobyte of live heap (two of RSS, at the GC's default goal). It fits
// the runtime's 1536-byte size class; past it a request takes 2048.
func TestRequestFitsItsSizeClass(t *testing.T) {
	const sizeClass = 1536
	if got := unsafe.Sizeof(request{}); got > sizeClass {
		t.Fatalf("request is %d bytes; want <= %d (the next size class is 2048)", got, sizeClass)
	}
}
