/* mount.c - stable handler targets that survive a reload (see mount.h).
 *
 * A fixed table of slots, each a key, an owner pointer and a rwlock: handlers hold the read
 * side while they use the owner, the owner changes under the write side. The table only grows,
 * under one mutex; lookups by key are linear, which is fine for the few hundred resources
 * directories and prompts a config has, and happen at configure time only. */
#include "mount.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MOUNTS 1024

struct mount {
    pthread_rwlock_t lock;
    void *owner;
    char *key;
};

static pthread_mutex_t table_mu = PTHREAD_MUTEX_INITIALIZER;
static mount *table[MAX_MOUNTS];
static size_t nmounts;

mount *mount_get(const char *key)
{
    mount *m = NULL;
    pthread_mutex_lock(&table_mu);
    for (size_t i = 0; i < nmounts && !m; i++)
        if (!strcmp(table[i]->key, key)) m = table[i];
    if (!m && nmounts < MAX_MOUNTS) {
        m = calloc(1, sizeof *m);
        if (!m || !(m->key = strdup(key))) abort();
        pthread_rwlockattr_t attr; /* a reload must not wait behind a stream of readers */
        pthread_rwlockattr_init(&attr);
        pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
        pthread_rwlock_init(&m->lock, &attr);
        pthread_rwlockattr_destroy(&attr);
        table[nmounts++] = m;
    }
    pthread_mutex_unlock(&table_mu);
    return m;
}

void *mount_enter(mount *m)
{
    pthread_rwlock_rdlock(&m->lock);
    return m->owner;
}

void mount_leave(mount *m)
{
    pthread_rwlock_unlock(&m->lock);
}

void *mount_take(mount *m, void *owner)
{
    pthread_rwlock_wrlock(&m->lock);
    void *prev = m->owner;
    m->owner = owner;
    pthread_rwlock_unlock(&m->lock);
    return prev;
}

bool mount_release(mount *m, void *owner)
{
    pthread_rwlock_wrlock(&m->lock);
    bool mine = m->owner == owner;
    if (mine) m->owner = NULL;
    pthread_rwlock_unlock(&m->lock);
    return mine;
}
