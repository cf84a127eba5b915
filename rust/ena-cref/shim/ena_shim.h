/* ENA Lab: a userspace platform for ena_com's data path.
 *
 * The upstream ena_com sources are written against the kernel's headers; DPDK
 * and FreeBSD compile the same code against a platform header of their own.
 * This is ours: just enough of the kernel's types, bit helpers and barriers
 * for ena_eth_com.c to compile and run in a test process. Logging is
 * silenced, WARN is a no-op. A register write lands in the u32 the caller
 * pointed the register at (nowhere when it is NULL), and device memory (an
 * LLQ's pbuf_dev_addr) is a buffer the caller owns, written with plain
 * copies; wmb() is the kernel's x86-64 one, a store fence.
 */
#ifndef ENA_LAB_SHIM_H
#define ENA_LAB_SHIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <string.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int8_t s8;
typedef int16_t s16;
typedef int32_t s32;
typedef int64_t s64;
typedef u64 dma_addr_t;
typedef u64 ktime_t;
typedef struct { int locked; } spinlock_t;
typedef struct { int counter; } atomic_t;
typedef struct { int unused; } wait_queue_head_t;
struct completion { int done; };
struct device;
struct net_device;
struct pci_dev;

#define __iomem
#define ____cacheline_aligned __attribute__((aligned(64)))
#define __always_unused __attribute__((unused))
#define __maybe_unused __attribute__((unused))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define READ_ONCE(x) (*(const volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, v) (*(volatile __typeof__(x) *)&(x) = (v))
#define dma_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define dma_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)
#if defined(__x86_64__)
#define wmb() __asm__ __volatile__("sfence" ::: "memory")
#else
#define wmb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#endif
#define rmb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

#define BIT(n) (1UL << (n))
#define BIT_ULL(n) (1ULL << (n))
#define GENMASK(h, l) (((~0U) - (1U << (l)) + 1) & (~0U >> (31 - (h))))
#define GENMASK_ULL(h, l) (((~0ULL) - (1ULL << (l)) + 1) & (~0ULL >> (63 - (h))))
#define __bf_shf(x) (__builtin_ffsll(x) - 1)
#define FIELD_PREP(mask, val) (((__typeof__(mask))(val) << __bf_shf(mask)) & (mask))
#define FIELD_GET(mask, reg) ((__typeof__(mask))(((reg) & (mask)) >> __bf_shf(mask)))

#define WARN(cond, ...) ((void)(cond))
#define WARN_ON(cond) ((void)(cond))
#define netdev_err(dev, ...) ((void)(dev))
#define netdev_warn(dev, ...) ((void)(dev))
#define netdev_info(dev, ...) ((void)(dev))
#define netdev_dbg(dev, ...) ((void)(dev))
#define pr_err(...) ((void)0)
#define pr_info(...) ((void)0)
#define KBUILD_MODNAME "ena_cref"

#define DIV_ROUND_UP(n, d) (((n) + (d) - 1) / (d))
static inline int hweight64(u64 w) { return __builtin_popcountll(w); }

static inline void writel(u32 v, volatile void *addr) { if (addr) *(volatile u32 *)addr = v; }
static inline void writel_relaxed(u32 v, volatile void *addr) { writel(v, addr); }
static inline u32 readl(const volatile void *addr) { (void)addr; return 0; }
static inline void __iowrite64_copy(void *to, const void *from, size_t count) { memcpy(to, from, count * 8); }
static inline void prefetch(const void *p) { (void)p; }
static inline void prefetchw(const void *p) { (void)p; }

#endif /* ENA_LAB_SHIM_H */
