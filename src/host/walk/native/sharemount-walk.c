/*
 * sharemount-walk: the ownership walk of ownershipWalk.ts in C, for speed. Same rules, same order, same
 * counts, same cursor; ownershipWalk.ts starts it and speaks to it (see the protocol below).
 *
 * - Every directory is held open (O_DIRECTORY|O_NOFOLLOW) and children are reached only relative to it
 *   (openat/fstatat/fchownat with the directory's descriptor), never through a path.
 * - A regular file or FIFO is changed through an O_PATH|O_NOFOLLOW descriptor of its own, after fstat on that
 *   descriptor shows the device and inode the listing's fstatat saw and a single link; fchownat(fd, "",
 *   AT_EMPTY_PATH) then changes exactly that inode, whatever happens to the name meanwhile.
 * - Symlinks are never followed nor changed; devices, sockets and files with several links are refused.
 * - Never crosses into another mount: st_dev, the mount points listed by the caller, and (directories)
 *   statx's mount id, which also catches bind mounts of the same file system.
 * - Post-order, names sorted bytewise per directory (the same order as the Node walk), the root last.
 *
 * Protocol. argv: root-hex real-root-hex uid gid fullScan sampleSize progressEvery maxDepth refusedLimit
 * then any of m:<mount-point-hex>, c:<cursor-name-hex> (in order), n:<six counts, comma-separated>,
 * t:<report at least every this many ms>.
 * stdout, one record per line: "P <6 counts> <cursor names in hex>..." (then waits for one byte on stdin;
 * EOF stops the walk), "R <code> <number> <path-hex>" (refused), "D <6 counts> <0|1>" (done),
 * "E <errno-name> <message-hex>" (failure, exit 1). Counts: entries changed alreadyRight refusedCount
 * skippedSymlinks skippedMounts.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#define DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

struct listing {
  char *buf;     /* each name is preceded by its d_type byte */
  char **names;  /* sorted */
  size_t count;
};

struct frame {
  int fd;
  struct listing list;
  size_t next;
  char *path;       /* logical absolute path, for reports and mount points */
  const char *name; /* name in the parent ("" for the root); points into the parent's listing */
  uid_t uid;
  gid_t gid;
};

static struct {
  long long entries, changed, alreadyRight, refusedCount, skippedSymlinks, skippedMounts;
} counts;

static uid_t want_uid;
static gid_t want_gid;
static int full_scan, sample_size, progress_every, max_depth, refused_limit, refused_sent;
static int since_progress;
/* Also report when this long has passed since the last report (t:<ms>; 0 = by count only), so a slow store
 * still heartbeats: the caller reads reports synchronously and cannot heartbeat on its own meanwhile. */
static long long progress_interval_ms, last_progress_ms;

static long long monotonic_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
static dev_t root_dev;
static uint64_t root_mnt_id;
static char **mount_points;
static size_t mount_point_count;
static struct frame *stack;
static int depth; /* frames on the stack */
static int noatime_ok = 1;
static int expect_change = 1; /* the last regular file needed a change */

static void put_hex(const char *s, size_t n) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    putchar(digits[c >> 4]);
    putchar(digits[c & 15]);
  }
}

static char *from_hex(const char *hex) {
  size_t n = strlen(hex) / 2;
  char *out = malloc(n + 1);
  if (!out) abort();
  for (size_t i = 0; i < n; i++) {
    unsigned int byte;
    if (sscanf(hex + 2 * i, "%2x", &byte) != 1) {
      fprintf(stderr, "sharemount-walk: bad hex argument\n");
      exit(2);
    }
    out[i] = (char)byte;
  }
  out[n] = 0;
  return out;
}

static void fail(const char *what) {
  int e = errno;
  const char *name = strerrorname_np(e);
  char message[4200];
  snprintf(message, sizeof message, "%s, %s", strerror(e), what);
  printf("E %s ", name ? name : "EIO");
  put_hex(message, strlen(message));
  putchar('\n');
  fflush(stdout);
  exit(1);
}

/*
 * Descriptors of changed files are closed in batches with close_range(2): opened one after the other with
 * nothing else opened in between, they hold consecutive numbers, so one call closes a run of them.
 */
#define BATCH 256
static int batch_first = -1, batch_last = -1, batch_count;

static void close_batch(void) {
  if (batch_count == 0) return;
  if (batch_last - batch_first + 1 == batch_count && syscall(SYS_close_range, batch_first, batch_last, 0) == 0) {
    batch_count = 0;
    return;
  }
  /* not one run (or no close_range): the numbers are unknown, so this never happens silently */
  fprintf(stderr, "sharemount-walk: descriptor batch is not contiguous\n");
  exit(4);
}

static void fail(const char *what);

/* Gives the inode behind fd (checked by the caller) the owner; fd is closed later, in a batch. */
static void change_by_descriptor(int fd) {
  if (fchownat(fd, "", want_uid, want_gid, AT_EMPTY_PATH)) fail("cannot change an owner");
  if (batch_count && fd != batch_last + 1) close_batch();
  if (batch_count == 0) batch_first = fd;
  batch_last = fd;
  if (++batch_count == BATCH) close_batch();
}

static void print_counts(void) {
  printf("%lld %lld %lld %lld %lld %lld", counts.entries, counts.changed, counts.alreadyRight, counts.refusedCount,
         counts.skippedSymlinks, counts.skippedMounts);
}

static int is_right(uid_t uid, gid_t gid) { return uid == want_uid && gid == want_gid; }

static void refuse(const struct frame *parent, const char *name, char code, long long number) {
  counts.refusedCount++;
  if (refused_sent >= refused_limit) return;
  refused_sent++;
  printf("R %c %lld ", code, number);
  put_hex(parent->path, strlen(parent->path));
  put_hex("/", 1);
  put_hex(name, strlen(name));
  putchar('\n');
}

static int cmp_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

struct linux_dirent64 {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

static int list_names(int fd, struct listing *out) {
  size_t cap = 4096, used = 0;
  char *buf = malloc(cap);
  char chunk[65536];
  size_t count = 0;
  if (!buf) abort();
  for (;;) {
    long n = syscall(SYS_getdents64, fd, chunk, sizeof chunk);
    if (n < 0) {
      free(buf);
      return -1;
    }
    if (n == 0) break;
    for (long off = 0; off < n;) {
      struct linux_dirent64 *d = (struct linux_dirent64 *)(chunk + off);
      off += d->d_reclen;
      const char *name = d->d_name;
      if (name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0))) continue;
      size_t len = strlen(name);
      if (used + len + 2 > cap) {
        while (used + len + 2 > cap) cap *= 2;
        buf = realloc(buf, cap);
        if (!buf) abort();
      }
      buf[used] = (char)d->d_type;
      memcpy(buf + used + 1, name, len + 1);
      used += len + 2;
      count++;
    }
  }
  char **names = malloc((count ? count : 1) * sizeof *names);
  if (!names) abort();
  for (size_t i = 0, off = 0; i < count; i++) {
    names[i] = buf + off + 1;
    off += strlen(buf + off + 1) + 2;
  }
  qsort(names, count, sizeof *names, cmp_names);
  out->buf = buf;
  out->names = names;
  out->count = count;
  return 0;
}

static void free_listing(struct listing *list) {
  free(list->buf);
  free(list->names);
  list->buf = NULL;
  list->names = NULL;
  list->count = 0;
}

/* Device, inode, owner and the mount id of an open descriptor. */
static int stat_fd(int fd, struct statx *stx) {
  return statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS | STATX_MNT_ID, stx);
}

static dev_t statx_dev(const struct statx *stx) { return makedev(stx->stx_dev_major, stx->stx_dev_minor); }

static int open_dir_at(int dirfd, const char *name) {
  if (noatime_ok) {
    int fd = openat(dirfd, name, DIR_FLAGS | O_NOATIME);
    if (fd >= 0 || errno != EPERM) return fd;
  }
  return openat(dirfd, name, DIR_FLAGS);
}

static int is_mount_point(const struct frame *parent, const char *name) {
  if (mount_point_count == 0) return 0;
  size_t plen = strlen(parent->path), nlen = strlen(name);
  for (size_t i = 0; i < mount_point_count; i++) {
    const char *m = mount_points[i];
    if (strlen(m) == plen + 1 + nlen && memcmp(m, parent->path, plen) == 0 && m[plen] == '/' && strcmp(m + plen + 1, name) == 0) return 1;
  }
  return 0;
}

/* One more entry done; every progress_every entries (or progress_interval_ms), report a cursor pointing at
 * it and wait for the go-ahead. */
static void finished(const char *name) {
  if (progress_every <= 0) return;
  if (++since_progress < progress_every && !(progress_interval_ms > 0 && monotonic_ms() - last_progress_ms >= progress_interval_ms)) return;
  since_progress = 0;
  close_batch();
  printf("P ");
  print_counts();
  for (int i = 1; i < depth; i++) {
    putchar(' ');
    put_hex(stack[i].name, strlen(stack[i].name));
  }
  putchar(' ');
  put_hex(name, strlen(name));
  putchar('\n');
  fflush(stdout);
  char go;
  ssize_t n;
  do n = read(0, &go, 1);
  while (n < 0 && errno == EINTR);
  if (n != 1) exit(3); /* the caller stopped the walk */
  last_progress_ms = monotonic_ms();
}

/* Pushes a directory opened as fd (already checked); takes ownership of fd. */
static void push(const struct frame *parent, const char *name, int fd, const struct statx *stx) {
  struct frame *f = &stack[depth];
  f->fd = fd;
  if (list_names(fd, &f->list)) fail("cannot list a directory");
  f->next = 0;
  size_t plen = strlen(parent->path), nlen = strlen(name);
  f->path = malloc(plen + nlen + 2);
  if (!f->path) abort();
  memcpy(f->path, parent->path, plen);
  f->path[plen] = '/';
  memcpy(f->path + plen + 1, name, nlen + 1);
  f->name = name;
  f->uid = stx->stx_uid;
  f->gid = stx->stx_gid;
  depth++;
}

/* Opens and pushes a directory whose fstatat said st; 0 when it was refused or skipped instead. */
static int enter_directory(struct frame *parent, const char *name, const struct stat *st) {
  if (depth >= max_depth) {
    refuse(parent, name, 'D', max_depth);
    return 0;
  }
  int fd = open_dir_at(parent->fd, name);
  if (fd < 0) {
    if (errno == ENOENT) return 0;
    if (errno == ELOOP || errno == ENOTDIR) {
      refuse(parent, name, 'X', 0);
      return 0;
    }
    fail("cannot open a directory");
  }
  struct statx stx;
  if (stat_fd(fd, &stx)) fail("cannot stat a directory");
  if (statx_dev(&stx) != st->st_dev || stx.stx_ino != st->st_ino) {
    close(fd);
    refuse(parent, name, 'Y', 0);
    return 0;
  }
  if (stx.stx_mnt_id != root_mnt_id) {
    close(fd);
    counts.skippedMounts++;
    return 0;
  }
  push(parent, name, fd, &stx);
  return 1;
}

static void change_file(struct frame *parent, const char *name, const struct stat *st) {
  int fd = openat(parent->fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return;
    fail("cannot open a file to change it");
  }
  struct stat opened;
  if (fstat(fd, &opened)) fail("cannot stat a file");
  if (S_ISLNK(opened.st_mode) || S_ISSOCK(opened.st_mode)) refuse(parent, name, 'L', 0);
  else if (opened.st_dev != st->st_dev || opened.st_ino != st->st_ino) refuse(parent, name, 'W', 0);
  else if (S_ISREG(opened.st_mode) && opened.st_nlink > 1) refuse(parent, name, 'h', (long long)opened.st_nlink);
  else if (!S_ISREG(opened.st_mode) && !S_ISFIFO(opened.st_mode)) refuse(parent, name, 'T', 0);
  else {
    change_by_descriptor(fd);
    counts.changed++;
    expect_change = 1;
    return;
  }
  close(fd);
}

/* The general visit: fstatat first, as the Node walk does with lstat. */
static void visit_stat(struct frame *parent, const char *name, int resuming) {
  struct stat st;
  if (fstatat(parent->fd, name, &st, AT_SYMLINK_NOFOLLOW)) {
    if (errno == ENOENT) return;
    fail("cannot stat an entry");
  }
  if (!resuming) counts.entries++;
  if (S_ISLNK(st.st_mode)) counts.skippedSymlinks++;
  else if (st.st_dev != root_dev || is_mount_point(parent, name)) counts.skippedMounts++;
  else if (S_ISDIR(st.st_mode)) {
    if (enter_directory(parent, name, &st)) return;
  } else if (is_right(st.st_uid, st.st_gid)) counts.alreadyRight++;
  else if (S_ISREG(st.st_mode) && st.st_nlink > 1) refuse(parent, name, 'H', (long long)st.st_nlink);
  else if (S_ISBLK(st.st_mode) || S_ISCHR(st.st_mode)) refuse(parent, name, 'V', 0);
  else if (S_ISSOCK(st.st_mode)) refuse(parent, name, 'S', 0);
  else change_file(parent, name, &st);
  finished(name);
}

/*
 * A regular file by the listing, while files are mostly wrong (a cold walk): open it O_PATH first and take
 * every fact from that descriptor, which saves the fstatat that would only be repeated on the descriptor.
 * Returns 0 when the descriptor shows something else than a regular file or FIFO (the caller looks again).
 */
static int visit_file_by_descriptor(struct frame *parent, const char *name, int resuming) {
  int fd = openat(parent->fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return 1;
    fail("cannot open a file to change it");
  }
  struct stat st;
  if (fstat(fd, &st)) fail("cannot stat a file");
  if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode)) {
    close(fd);
    return 0;
  }
  if (!resuming) counts.entries++;
  if (st.st_dev != root_dev || is_mount_point(parent, name)) counts.skippedMounts++;
  else if (is_right(st.st_uid, st.st_gid)) {
    counts.alreadyRight++;
    expect_change = 0;
  } else if (S_ISREG(st.st_mode) && st.st_nlink > 1) refuse(parent, name, 'H', (long long)st.st_nlink);
  else {
    change_by_descriptor(fd);
    fd = -1;
    counts.changed++;
  }
  if (fd >= 0) close(fd);
  finished(name);
  return 1;
}

static void visit(struct frame *parent, const char *name, int resuming) {
  unsigned char type = (unsigned char)name[-1];
  if (type == DT_REG && expect_change && visit_file_by_descriptor(parent, name, resuming)) return;
  if (type == DT_LNK && !resuming) {
    /* the listing says symlink: nothing to look at (a symlink is never followed nor changed) */
    counts.entries++;
    counts.skippedSymlinks++;
    finished(name);
    return;
  }
  if (type == DT_DIR && depth < max_depth && !is_mount_point(parent, name)) {
    /* a directory by the listing: open it first and take every fact from the descriptor itself */
    int fd = open_dir_at(parent->fd, name);
    if (fd >= 0) {
      struct statx stx;
      if (stat_fd(fd, &stx)) fail("cannot stat a directory");
      if (!resuming) counts.entries++;
      if (statx_dev(&stx) == root_dev && stx.stx_mnt_id == root_mnt_id) {
        push(parent, name, fd, &stx);
        return;
      }
      close(fd);
      counts.skippedMounts++;
      finished(name);
      return;
    }
    if (errno == ENOENT) return;
    if (errno != ELOOP && errno != ENOTDIR) fail("cannot open a directory");
    /* no longer a directory: look again */
  }
  visit_stat(parent, name, resuming);
}

static void finish_directory(void) {
  struct frame *f = &stack[--depth];
  if (is_right(f->uid, f->gid)) {
    counts.alreadyRight++;
    close(f->fd);
  } else {
    change_by_descriptor(f->fd);
    counts.changed++;
  }
  free_listing(&f->list);
  if (depth > 0) {
    free(f->path);
    finished(f->name);
  }
}

static size_t lower_bound(const struct listing *list, const char *value) {
  size_t low = 0, high = list->count;
  while (low < high) {
    size_t mid = (low + high) / 2;
    if (strcmp(list->names[mid], value) < 0) low = mid + 1;
    else high = mid;
  }
  return low;
}

static void resume(char **cursor, int length) {
  struct frame *current = &stack[0];
  for (int level = 0; level < length; level++) {
    const char *name = cursor[level];
    size_t index = lower_bound(&current->list, name);
    int found = index < current->list.count && strcmp(current->list.names[index], name) == 0;
    int last = level == length - 1;
    if (found && last) index++;
    current->next = index;
    if (!found || last) return;
    current->next = index + 1;
    int before = depth;
    visit(current, current->list.names[index], 1);
    if (depth == before) return;
    current = &stack[depth - 1];
  }
}

static uint32_t random_below(uint32_t n) {
  uint32_t r;
  if (getrandom(&r, sizeof r, 0) != sizeof r) r = (uint32_t)rand();
  return (uint32_t)(((uint64_t)r * n) >> 32);
}

/* OnRootMismatch plus drift detection, as sampleLooksRight in ownershipWalk.ts. */
static int sample_looks_right(int root_fd, const struct listing *root_list) {
  for (int i = 0; i < sample_size; i++) {
    int dir_fd = root_fd;
    struct listing own = {0};
    for (int level = 0; level < 64; level++) {
      const struct listing *list = root_list;
      if (dir_fd != root_fd) {
        free_listing(&own);
        if (list_names(dir_fd, &own)) break;
        list = &own;
      }
      if (list->count == 0) break;
      const char *name = list->names[random_below((uint32_t)list->count)];
      struct stat st;
      if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW)) break;
      if (S_ISLNK(st.st_mode) || st.st_dev != root_dev) break;
      int would_change = !(S_ISREG(st.st_mode) && st.st_nlink > 1) && !S_ISBLK(st.st_mode) && !S_ISCHR(st.st_mode) && !S_ISSOCK(st.st_mode);
      if (would_change && !is_right(st.st_uid, st.st_gid)) {
        free_listing(&own);
        if (dir_fd != root_fd) close(dir_fd);
        return 0;
      }
      if (!S_ISDIR(st.st_mode)) break;
      int next = open_dir_at(dir_fd, name);
      if (next < 0) break;
      if (dir_fd != root_fd) close(dir_fd);
      dir_fd = next;
      struct statx stx;
      if (stat_fd(dir_fd, &stx) || stx.stx_mnt_id != root_mnt_id) break;
    }
    free_listing(&own);
    if (dir_fd != root_fd) close(dir_fd);
  }
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 10) {
    fprintf(stderr, "usage: sharemount-walk root-hex real-root-hex uid gid fullScan sampleSize progressEvery maxDepth refusedLimit [m:hex] [c:hex] [n:counts]\n");
    return 2;
  }
  static char out_buffer[1 << 16];
  setvbuf(stdout, out_buffer, _IOFBF, sizeof out_buffer);
  char *root = from_hex(argv[1]);
  char *real_root = from_hex(argv[2]);
  want_uid = (uid_t)strtoul(argv[3], NULL, 10);
  want_gid = (gid_t)strtoul(argv[4], NULL, 10);
  full_scan = atoi(argv[5]);
  sample_size = atoi(argv[6]);
  progress_every = atoi(argv[7]);
  max_depth = atoi(argv[8]);
  refused_limit = atoi(argv[9]);
  char **cursor = calloc((size_t)argc, sizeof *cursor);
  mount_points = calloc((size_t)argc, sizeof *mount_points);
  int cursor_length = 0, resuming = 0;
  for (int i = 10; i < argc; i++) {
    if (strncmp(argv[i], "m:", 2) == 0) mount_points[mount_point_count++] = from_hex(argv[i] + 2);
    else if (strncmp(argv[i], "t:", 2) == 0) progress_interval_ms = atoll(argv[i] + 2);
    else if (strncmp(argv[i], "c:", 2) == 0) cursor[cursor_length++] = from_hex(argv[i] + 2);
    else if (strncmp(argv[i], "n:", 2) == 0) {
      resuming = 1;
      sscanf(argv[i] + 2, "%lld,%lld,%lld,%lld,%lld,%lld", &counts.entries, &counts.changed, &counts.alreadyRight, &counts.refusedCount,
             &counts.skippedSymlinks, &counts.skippedMounts);
    }
  }
  if (max_depth < 1) max_depth = 1;
  last_progress_ms = monotonic_ms();
  stack = calloc((size_t)max_depth + 1, sizeof *stack);
  if (!stack || !cursor || !mount_points) abort();

  int fd = open(root, DIR_FLAGS);
  if (fd < 0) fail(root);
  struct statx stx;
  if (stat_fd(fd, &stx)) fail(root);
  root_dev = statx_dev(&stx);
  root_mnt_id = stx.stx_mnt_id;
  struct frame *top = &stack[0];
  top->fd = fd;
  top->path = real_root;
  top->name = "";
  top->uid = stx.stx_uid;
  top->gid = stx.stx_gid;
  depth = 1;
  if (!resuming) counts.entries++;
  if (list_names(fd, &top->list)) fail(root);
  if (!full_scan && !resuming && is_right(top->uid, top->gid) && sample_looks_right(fd, &top->list)) {
    counts.alreadyRight++;
    printf("D ");
    print_counts();
    printf(" 1\n");
    fflush(stdout);
    return 0;
  }
  if (cursor_length) resume(cursor, cursor_length);
  while (depth > 0) {
    struct frame *f = &stack[depth - 1];
    if (f->next < f->list.count) {
      const char *name = f->list.names[f->next++];
      visit(f, name, 0);
    } else finish_directory();
  }
  close_batch();
  printf("D ");
  print_counts();
  printf(" 0\n");
  fflush(stdout);
  return 0;
}
