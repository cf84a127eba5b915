//! The device reads and writes little-endian structures in DMA memory. Each
//! wire type encodes to and decodes from bytes explicitly: no transmute, no
//! unsafe, the same result on any host.

/// A `#[repr(C)]` structure as the device sees it.
pub trait Wire: Sized + Copy {
    /// Size in bytes, equal to `size_of::<Self>()` (asserted per type).
    const SIZE: usize;
    fn encode(&self, out: &mut [u8]);
    fn decode(bytes: &[u8]) -> Self;
}

/// Reads and writes of little-endian fields at byte offsets.
pub(crate) trait Le: Sized {
    fn get(b: &[u8], off: usize) -> Self;
    fn put(self, b: &mut [u8], off: usize);
}

macro_rules! le_int {
    ($($t:ty),*) => {$(
        impl Le for $t {
            #[inline(always)]
            fn get(b: &[u8], off: usize) -> Self {
                let mut a = [0u8; core::mem::size_of::<$t>()];
                a.copy_from_slice(&b[off..off + core::mem::size_of::<$t>()]);
                <$t>::from_le_bytes(a)
            }
            #[inline(always)]
            fn put(self, b: &mut [u8], off: usize) {
                b[off..off + core::mem::size_of::<$t>()].copy_from_slice(&self.to_le_bytes());
            }
        }
    )*};
}
le_int!(u8, u16, u32, u64);

// Arrays (MAC addresses, strings, raw dwords) are their elements in order.
impl<T: Le + Copy, const N: usize> Le for [T; N] {
    #[inline(always)]
    fn get(b: &[u8], off: usize) -> Self {
        core::array::from_fn(|i| T::get(b, off + i * core::mem::size_of::<T>()))
    }
    #[inline(always)]
    fn put(self, b: &mut [u8], off: usize) {
        for (i, v) in self.into_iter().enumerate() {
            v.put(b, off + i * core::mem::size_of::<T>());
        }
    }
}

/// Declares a `#[repr(C)]` wire struct, its size assertion and its encoding.
/// Fields are listed in order; the offsets are computed as C would lay them
/// out (the formats have no implicit padding, which the assertion proves).
macro_rules! wire_struct {
    ($(#[$m:meta])* $name:ident, $size:expr, { $($(#[$fm:meta])* $f:ident : $t:ty),* $(,)? }) => {
        $(#[$m])*
        #[repr(C)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub struct $name { $($(#[$fm])* pub $f: $t),* }

        const _: () = assert!(core::mem::size_of::<$name>() == $size);

        impl Default for $name {
            // Arrays longer than 32 have no derived Default: zero is the
            // device's "reserved, must be zero" everywhere.
            #[inline(always)]
            fn default() -> Self {
                <Self as $crate::wire::Wire>::decode(&[0u8; $size])
            }
        }

        impl $crate::wire::Wire for $name {
            const SIZE: usize = $size;
            #[inline(always)]
            #[allow(unused_assignments)]
            fn encode(&self, out: &mut [u8]) {
                let mut off = 0usize;
                $( $crate::wire::Le::put(self.$f, out, off); off += core::mem::size_of::<$t>(); )*
            }
            #[inline(always)]
            #[allow(unused_assignments)]
            fn decode(b: &[u8]) -> Self {
                let mut off = 0usize;
                $( let $f = <$t as $crate::wire::Le>::get(b, off); off += core::mem::size_of::<$t>(); )*
                Self { $($f),* }
            }
        }
    };
}
pub(crate) use wire_struct;
