/* The loop's inbox: a mutex-protected FIFO and an eventfd to wake poll(). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "inbox.h"

struct inbox {
    pthread_mutex_t mu;
    struct inbox_msg *head, *tail;
    int efd;
};

struct inbox *inbox_new(void)
{
    struct inbox *ib = calloc(1, sizeof(*ib));

    if (ib == NULL)
        return NULL;
    ib->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (ib->efd < 0) {
        int saved = errno;

        free(ib);
        errno = saved;
        return NULL;
    }
    pthread_mutex_init(&ib->mu, NULL);
    return ib;
}

void inbox_free(struct inbox *ib)
{
    struct inbox_msg *m;

    if (ib == NULL)
        return;
    while ((m = ib->head) != NULL) {
        ib->head = m->next;
        free(m);
    }
    close(ib->efd);
    pthread_mutex_destroy(&ib->mu);
    free(ib);
}

int inbox_fd(const struct inbox *ib)
{
    return ib->efd;
}

int inbox_post(struct inbox *ib, const struct inbox_msg *m)
{
    struct inbox_msg *copy = malloc(sizeof(*copy));
    uint64_t one = 1;

    if (copy == NULL)
        return -ENOMEM;
    *copy = *m;
    copy->next = NULL;
    pthread_mutex_lock(&ib->mu);
    if (ib->tail != NULL)
        ib->tail->next = copy;
    else
        ib->head = copy;
    ib->tail = copy;
    pthread_mutex_unlock(&ib->mu);
    /* Only EAGAIN (counter saturated) can fail here, and then the loop is
     * already due to wake. */
    if (write(ib->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        return -errno;
    return 0;
}

struct inbox_msg *inbox_take(struct inbox *ib)
{
    struct inbox_msg *list;
    uint64_t n;

    if (read(ib->efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
        return NULL;
    pthread_mutex_lock(&ib->mu);
    list = ib->head;
    ib->head = ib->tail = NULL;
    pthread_mutex_unlock(&ib->mu);
    return list;
}
