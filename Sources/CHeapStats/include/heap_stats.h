#ifndef BACKSTOP_HEAP_STATS_H
#define BACKSTOP_HEAP_STATS_H

#include <stddef.h>

/// Bytes the C allocator has handed out and not yet had back (glibc's mallinfo2 `uordblks`); 0 where unknown.
size_t backstop_heap_in_use(void);

#endif
