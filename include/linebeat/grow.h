/*
 * Growing arrays: the one place that doubles an array's allocation, so the
 * size arithmetic is checked for overflow once rather than at every list
 * the server builds.
 */
#ifndef LINEBEAT_GROW_H
#define LINEBEAT_GROW_H

#include <stddef.h>

/*
 * Makes room for element n of the array *arrp (a pointer to the array's
 * pointer, of any object type), *cap elements of size bytes allocated:
 * nothing to do while n < *cap, else doubles *cap, or allocates first
 * elements when there are none yet.  Returns 0, or -ENOMEM (allocation
 * failed, or the new size would not fit in a size_t); *arrp and *cap are
 * then unchanged, so the caller still owns and frees the old array.
 * Use LB_GROW, which takes size from the array's type.
 */
int lb_grow(void *arrp, size_t *cap, size_t n, size_t size, size_t first);

/* lb_grow on the array pointer arr (an lvalue, evaluated once). */
#define LB_GROW(arr, cap, n, first) lb_grow(&(arr), (cap), (n), sizeof(*(arr)), (first))

#endif
