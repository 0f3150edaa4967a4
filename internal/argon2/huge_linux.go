package argon2

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// hugePage is the size of a transparent huge page on the platforms Go
// runs Linux on with THP (x86-64, arm64 with 4 KiB base pages).
const hugePage = 2 << 20

// adviseHuge asks the kernel to back the 2 MiB-aligned part of buf with
// transparent huge pages (MADV_HUGEPAGE; honoured when
// /sys/kernel/mm/transparent_hugepage/enabled is "madvise" or "always").
// A derivation reads its reference blocks at random across the whole
// buffer, so with 4 KiB pages most of those reads also miss the TLB; with
// 2 MiB pages ten entries cover 19 MiB. It is advice: where the kernel
// declines, nothing changes. Only freshly allocated buffers are advised,
// before their first write, so the pages are huge from their first fault.
func adviseHuge(buf []block) {
	if len(buf) == 0 {
		return
	}
	b := unsafe.Slice((*byte)(unsafe.Pointer(&buf[0])), uintptr(len(buf))*unsafe.Sizeof(buf[0]))
	lo := (hugePage - uintptr(unsafe.Pointer(&b[0]))%hugePage) % hugePage
	n := (uintptr(len(b)) - min(lo, uintptr(len(b)))) &^ (hugePage - 1)
	if n == 0 {
		return
	}
	_ = unix.Madvise(b[lo:lo+n], unix.MADV_HUGEPAGE)
}
