#include <stdlib.h>
#include <string.h>
#include <stdint.h>

/* Open-addressing hash table from C strings to ints (linear probing, FNV-1a). */
#define INITIAL_SLOTS 16u
#define MAX_LOAD(n) ((n) * 3 / 4)

typedef struct entry {
    char *key;
    int value;
} entry;

typedef struct {
    entry *slots;
    size_t cap, len;
} table;

static uint32_t fnv1a(const char *s)
{
    uint32_t h = 2166136261u;
    while (*s) {
        h ^= (unsigned char)*s++;
        h *= 16777619u;
    }
    return h;
}

static entry *find_slot(entry *slots, size_t cap, const char *key)
{
    size_t i = fnv1a(key) & (cap - 1);
    while (slots[i].key != NULL && strcmp(slots[i].key, key) != 0)
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

static int grow(table *t)
{
    size_t new_cap = t->cap ? t->cap * 2 : INITIAL_SLOTS;
    entry *fresh = calloc(new_cap, sizeof *fresh);
    size_t i;
    if (fresh == NULL)
        return -1;
    for (i = 0; i < t->cap; ++i) {
        if (t->slots[i].key)
            *find_slot(fresh, new_cap, t->slots[i].key) = t->slots[i];
    }
    free(t->slots);
    t->slots = fresh;
    t->cap = new_cap;
    return 0;
}

int table_put(table *t, const char *key, int value)
{
    entry *e;
    if (t->len + 1 > MAX_LOAD(t->cap) && grow(t) != 0)
        return -1;
    e = find_slot(t->slots, t->cap, key);
    if (e->key == NULL) {
        size_t n = strlen(key) + 1;
        e->key = malloc(n);
        if (!e->key)
            return -1;
        memcpy(e->key, key, n);
        t->len++;
    }
    e->value = value;
    return 0;
}

const int *table_get(const table *t, const char *key)
{
    const entry *e = t->cap ? find_slot(t->slots, t->cap, key) : NULL;
    return e && e->key ? &e->value : (const int *)0;
}
