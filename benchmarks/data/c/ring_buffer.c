/* A fixed-capacity ring buffer of bytes with wrap-around reads and writes. */
#include <stddef.h>
#include <string.h>

#define RING_CAPACITY 256

typedef struct {
    unsigned char data[RING_CAPACITY];
    size_t head;   /* next byte to read */
    size_t count;  /* bytes stored */
} ring_t;

void ring_init(ring_t *r)
{
    r->head = 0;
    r->count = 0;
}

size_t ring_write(ring_t *r, const unsigned char *src, size_t n)
{
    size_t written = 0;
    while (written < n && r->count < RING_CAPACITY) {
        size_t tail = (r->head + r->count) % RING_CAPACITY;
        r->data[tail] = src[written++];
        r->count++;
    }
    return written;
}

size_t ring_read(ring_t *r, unsigned char *dst, size_t n)
{
    size_t got = 0;
    for (; got < n && r->count > 0; got++) {
        dst[got] = r->data[r->head];
        r->head = (r->head + 1) % RING_CAPACITY;
        --r->count;
    }
    return got;
}

int ring_peek(const ring_t *r, size_t offset)
{
    if (offset >= r->count)
        return -1;
    return r->data[(r->head + offset) % RING_CAPACITY];
}
