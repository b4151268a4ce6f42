/* Growing arrays; see linebeat/grow.h. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "linebeat/grow.h"

int lb_grow(void *arrp, size_t *cap, size_t n, size_t size, size_t first)
{
    void *old, *p;
    size_t ncap;

    if (n < *cap)
        return 0;
    if (*cap == 0)
        ncap = first;
    else if (*cap > SIZE_MAX / 2)
        return -ENOMEM;
    else
        ncap = *cap * 2;
    /* A zero size would make realloc free the array and return NULL. */
    if (ncap == 0 || size == 0 || ncap > SIZE_MAX / size)
        return -ENOMEM;
    /* The array's pointer is copied through memcpy, not read as a void *:
     * its declared type is a pointer to the element type, and reading it
     * through another pointer type breaks the aliasing rules. */
    memcpy(&old, arrp, sizeof(old));
    if ((p = realloc(old, ncap * size)) == NULL)
        return -ENOMEM;
    memcpy(arrp, &p, sizeof(p));
    *cap = ncap;
    return 0;
}
