package rowcodec

import (
	"net/netip"
	"testing"
)

// inetBytes builds inet_send bytes from an address text and mask bits.
func inetBytes(addr string, bits int, cidr bool) []byte {
	a := netip.MustParseAddr(addr)
	family, raw := uint8(pgAFInet6), a.AsSlice()
	if a.Is4() {
		family = pgAFInet
	}
	flag := uint8(0)
	if cidr {
		flag = 1
	}
	return be(family, uint8(bits), flag, uint8(len(raw)), raw)
}

func TestInet(t *testing.T) {
	f := func(addr string, bits int, cidr bool, want string) {
		t.Helper()
		checkDecode(t, func(dst, src []byte) ([]byte, error) { return appendInet(dst, src, cidr) }, inetBytes(addr, bits, cidr), `"`+want+`"`)
	}
	f("192.168.0.1", 32, false, "192.168.0.1")
	f("192.168.0.0", 24, false, "192.168.0.0/24")
	f("10.0.0.0", 8, true, "10.0.0.0/8")
	f("1.2.3.4", 32, true, "1.2.3.4/32")
	f("::", 128, false, "::")
	f("::", 0, true, "::/0")
	f("::1", 128, false, "::1")
	f("2001:db8::1", 64, false, "2001:db8::1/64")
	f("::ffff:1.2.3.4", 128, false, "::ffff:1.2.3.4")
	f("::1.2.3.4", 128, false, "::1.2.3.4")
	f("::ffff:0:0", 128, false, "::ffff:0.0.0.0")
	f("1:0:0:1:0:0:0:1", 128, false, "1:0:0:1::1")   // the longer run wins
	f("1:0:0:1:0:0:1:1", 128, false, "1::1:0:0:1:1") // on a tie the first
	f("1:2:3:4:5:6:7:8", 128, false, "1:2:3:4:5:6:7:8")
	f("1:0:2:3:4:5:6:7", 128, false, "1:0:2:3:4:5:6:7") // a single zero word stays
	f("1::", 128, false, "1::")
	f("fe80::1:0:0:1", 128, false, "fe80::1:0:0:1")
}

func TestInetMalformed(t *testing.T) {
	dec := func(dst, src []byte) ([]byte, error) { return appendInet(dst, src, false) }
	checkDecodeError(t, dec, nil)
	checkDecodeError(t, dec, be(uint8(pgAFInet), uint8(32), uint8(0), uint8(4), "abc"))
	checkDecodeError(t, dec, be(uint8(pgAFInet), uint8(33), uint8(0), uint8(4), "abcd"))
	checkDecodeError(t, dec, be(uint8(pgAFInet6), uint8(64), uint8(0), uint8(4), "abcd"))
	checkDecodeError(t, dec, be(uint8(9), uint8(8), uint8(0), uint8(4), "abcd"))
}

func TestMacaddr(t *testing.T) {
	mac := func(dst, src []byte) ([]byte, error) { return appendMacaddr(dst, src, 6) }
	mac8 := func(dst, src []byte) ([]byte, error) { return appendMacaddr(dst, src, 8) }
	checkDecode(t, mac, []byte{8, 0, 0x2b, 1, 2, 3}, `"08:00:2b:01:02:03"`)
	checkDecode(t, mac8, []byte{8, 0, 0x2b, 1, 2, 3, 0xfe, 0xff}, `"08:00:2b:01:02:03:fe:ff"`)
	checkDecodeError(t, mac, []byte{1, 2, 3})
	checkDecodeError(t, mac8, []byte{1, 2, 3, 4, 5, 6})
}
