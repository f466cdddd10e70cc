/*
 * sharemount-walk: the ownership walk of types.ts in C, for speed; nativeEngine.ts starts it and speaks to it.
 * The rules are the contract in types.ts; how this engine keeps them:
 *
 * - The root is opened with openat2(RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS) from "/", or where the kernel
 *   lacks it one O_NOFOLLOW component at a time; then compared with the device and inode the plan saw.
 * - Every directory is held open (O_DIRECTORY|O_NOFOLLOW) and children are reached only relative to it.
 *   Each entry's facts come from statx(dirfd, name, AT_SYMLINK_NOFOLLOW, STATX_MNT_ID) or, for a file opened
 *   first, from statx on its own O_PATH descriptor: a mount id other than the root's (a bind mount of the same
 *   file system too, a file as well as a directory) is never entered nor changed.
 * - A file is changed by fchownat(fd, "", AT_EMPTY_PATH) on an O_PATH descriptor whose statx showed the
 *   inode, mount and single link the walk expects: that inode, whatever happens to the name meanwhile, and no
 *   open for reading (a lease or a FIFO cannot block it). A change that fails is a refusal with its errno.
 * - A directory is read in sorted windows of at most window_size names: each window is the smallest names
 *   after the last one handled, found by streaming the whole directory through a bounded max-heap.
 * - The root check streams each directory it samples once, reservoir-sampling its share of the descents.
 *
 * Protocol. argv: <root-hex> <uid> <gid>, then options: f (fullScan), s:<sample size>, p:<report every N
 * entries>, t:<report at least every N ms>, d:<max depth>, r:<refusals still to send>, w:<window size>,
 * e:<dev>:<ino> (expected root), c:<cursor-name-hex> (in order), n:<six counts, comma-separated> (resuming).
 * stdout, one record per line:
 *   "P <s|w> <6 counts> [cursor names in hex]"  a report; then the helper waits for one byte on stdin (EOF stops it)
 *   "H <the last P's fields>"  a heartbeat while one directory takes long to read: nothing new; waits the same
 *   "R <code> <number> <errno-name|-> <path-hex>"  a refusal (code as in REFUSAL_REASONS)
 *   "D <6 counts> <skippedByRootCheck 0|1> <rootLeft 0|1>"  done
 *   "E <root|errno> <code> <message-hex>"  the walk failed (exit 1): at the root (a WalkRootError code) or else
 * Counts: entries changed alreadyRight refusedCount skippedSymlinks skippedMounts.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

#define DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
#define STATX_WANT (STATX_BASIC_STATS | STATX_MNT_ID)

struct window {
  char **names; /* sorted; each name is preceded by its d_type byte in its own allocation */
  size_t count, next;
  int more; /* the directory has names after this window (or no window was read yet) */
};

struct frame {
  int fd;
  char *name; /* name in the parent ("" for the root) */
  uid_t uid;
  gid_t gid;
  struct window w;
  char *after; /* the last name handled: the next window starts after it */
  int recheck; /* 1 while re-checking the names before the resume cursor at this level */
  int level;   /* the cursor level this frame is on, while resuming */
};

static struct {
  long long entries, changed, alreadyRight, refusedCount, skippedSymlinks, skippedMounts;
} counts;

static uid_t want_uid;
static gid_t want_gid;
static int full_scan, sample_size = 32, progress_every = 1000, max_depth = 512;
static long long refusals_to_send = 100, window_size = 65536;
static long long progress_interval_ms = 2000, last_progress_ms;
static long long since_progress;
static char *root_path;
static size_t root_len;
static dev_t root_dev;
static uint64_t root_mnt_id;
static struct frame *stack;
static int depth; /* frames on the stack */
static int noatime_ok = 1;
static int expect_change = 1; /* the last regular file needed a change: open it before looking */
static char **cursor;
static int cursor_length;
static int rechecking; /* reports keep the resume cursor until the re-check of the cursor path is done */
static char phase = 's';

/* ---------- output ---------- */

struct buffer {
  char *data;
  size_t len, cap;
};
static struct buffer last_report; /* re-sent (as "H") as a heartbeat while a long directory is read */
static long long stream_started_ms;

static void buf_add(struct buffer *b, const char *s, size_t n) {
  if (b->len + n + 1 > b->cap) {
    while (b->len + n + 1 > b->cap) b->cap = b->cap ? b->cap * 2 : 256;
    b->data = realloc(b->data, b->cap);
    if (!b->data) abort();
  }
  memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = 0;
}

static void buf_hex(struct buffer *b, const char *s, size_t n) {
  static const char digits[] = "0123456789abcdef";
  char chunk[256];
  size_t used = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    chunk[used++] = digits[c >> 4];
    chunk[used++] = digits[c & 15];
    if (used == sizeof chunk) {
      buf_add(b, chunk, used);
      used = 0;
    }
  }
  buf_add(b, chunk, used);
}

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

static void fail_with(const char *kind, const char *code, const char *message) {
  printf("E %s %s ", kind, code);
  put_hex(message, strlen(message));
  putchar('\n');
  fflush(stdout);
  exit(1);
}

/* A failure that is not the root's fault (memory, a broken pipe): the walk fails, a retry may pass. */
static void fail(const char *what) {
  int e = errno;
  const char *name = strerrorname_np(e);
  char message[4200];
  snprintf(message, sizeof message, "%s: %s", what, strerror(e));
  fail_with("errno", name ? name : "EIO", message);
}

static void fail_root(const char *code, const char *message) { fail_with("root", code, message); }

static long long monotonic_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---------- descriptors of changed files, closed in batches ---------- */

/*
 * Opened one after the other with nothing else opened in between, they hold consecutive numbers, so one
 * close_range(2) closes a run of them.
 */
#define BATCH 256
static int batch_first = -1, batch_last = -1, batch_count;

static void close_batch(void) {
  if (batch_count == 0) return;
  if (batch_last - batch_first + 1 == batch_count && syscall(SYS_close_range, batch_first, batch_last, 0) == 0) {
    batch_count = 0;
    return;
  }
  for (int fd = batch_first; fd <= batch_last; fd++) close(fd); /* no close_range: one at a time */
  batch_count = 0;
}

static void keep_for_batch(int fd) {
  if (batch_count && fd != batch_last + 1) close_batch();
  if (batch_count == 0) batch_first = fd;
  batch_last = fd;
  if (++batch_count == BATCH) close_batch();
}

/* ---------- reports ---------- */

static void add_counts(struct buffer *b) {
  char text[160];
  int n = snprintf(text, sizeof text, "%lld %lld %lld %lld %lld %lld", counts.entries, counts.changed, counts.alreadyRight,
                   counts.refusedCount, counts.skippedSymlinks, counts.skippedMounts);
  buf_add(b, text, (size_t)n);
}

/* Sends a report and waits for the caller's go-ahead. */
static void send_report(const struct buffer *report) {
  close_batch();
  fwrite(report->data, 1, report->len, stdout);
  fflush(stdout);
  char go;
  ssize_t n;
  do n = read(0, &go, 1);
  while (n < 0 && errno == EINTR);
  if (n != 1) exit(3); /* the caller stopped the walk */
  last_progress_ms = monotonic_ms();
  since_progress = 0;
}

/* A new report: the counts now, and a cursor at `name` (NULL: the resume cursor, or none in the sample). */
static void report(const char *name) {
  last_report.len = 0;
  buf_add(&last_report, phase == 's' ? "P s " : "P w ", 4);
  add_counts(&last_report);
  if (phase == 'w') {
    if (rechecking || !name) {
      for (int i = 0; i < cursor_length; i++) {
        buf_add(&last_report, " ", 1);
        buf_hex(&last_report, cursor[i], strlen(cursor[i]));
      }
    } else {
      for (int i = 1; i < depth; i++) {
        buf_add(&last_report, " ", 1);
        buf_hex(&last_report, stack[i].name, strlen(stack[i].name));
      }
      buf_add(&last_report, " ", 1);
      buf_hex(&last_report, name, strlen(name));
    }
  }
  buf_add(&last_report, "\n", 1);
  send_report(&last_report);
}

static int report_due(void) {
  return since_progress >= progress_every || (progress_interval_ms > 0 && monotonic_ms() - last_progress_ms >= progress_interval_ms);
}

/* One more entry done: report every progress_every entries or progress_interval_ms. */
static void finished(const char *name) {
  since_progress++;
  if (report_due()) report(name);
}

/*
 * While a directory is being read. The root check reports as it goes (it has no cursor). The walk finishes no
 * entry meanwhile, so once one directory has taken a whole interval it repeats its last report as a heartbeat:
 * exact (a resume from it redoes what came after), and a quick listing adds none.
 */
static void tick(long entries) {
  if (phase == 's') {
    since_progress += entries;
    if (since_progress >= progress_every || (progress_interval_ms > 0 && monotonic_ms() - last_progress_ms >= progress_interval_ms)) report(NULL);
    return;
  }
  if (progress_interval_ms <= 0) return;
  long long now = monotonic_ms();
  if (now - last_progress_ms < progress_interval_ms || now - stream_started_ms < progress_interval_ms) return;
  last_report.data[0] = 'H';
  send_report(&last_report);
  last_report.data[0] = 'P';
}

/* ---------- refusals ---------- */

/* The host path of `name` in the directory at stack[upto - 1] (name NULL: that directory itself). */
static void add_path(struct buffer *b, int upto, const char *name) {
  buf_hex(b, root_path, root_len);
  for (int i = 1; i < upto; i++) {
    buf_hex(b, "/", 1);
    buf_hex(b, stack[i].name, strlen(stack[i].name));
  }
  if (name) {
    buf_hex(b, "/", 1);
    buf_hex(b, name, strlen(name));
  }
}

static void refuse_at(int upto, const char *name, const char *code, long long number, int err) {
  counts.refusedCount++;
  if (refusals_to_send <= 0) return;
  refusals_to_send--;
  static struct buffer line;
  line.len = 0;
  char head[128];
  const char *errname = err ? strerrorname_np(err) : NULL;
  int n = snprintf(head, sizeof head, "R %s %lld %s ", code, number, err ? (errname ? errname : "EIO") : "-");
  buf_add(&line, head, (size_t)n);
  add_path(&line, upto, name);
  buf_add(&line, "\n", 1);
  fwrite(line.data, 1, line.len, stdout);
}

/* A refusal of `name` in the directory on top of the stack. */
static void refuse(const char *name, const char *code, long long number) { refuse_at(depth, name, code, number, 0); }
static void refuse_errno(const char *name, int err) { refuse_at(depth, name, "errno", err, err); }

/* ---------- facts ---------- */

static int is_right(uid_t uid, gid_t gid) { return uid == want_uid && gid == want_gid; }
static dev_t statx_dev(const struct statx *stx) { return makedev(stx->stx_dev_major, stx->stx_dev_minor); }
static int same_inode(const struct statx *a, const struct statx *b) {
  return a->stx_ino == b->stx_ino && a->stx_dev_major == b->stx_dev_major && a->stx_dev_minor == b->stx_dev_minor;
}
static int has_mount_id(const struct statx *stx) { return (stx->stx_mask & STATX_MNT_ID) != 0; }
static int on_root_mount(const struct statx *stx) { return statx_dev(stx) == root_dev && stx->stx_mnt_id == root_mnt_id; }

static int stat_at(int dirfd, const char *name, struct statx *stx) {
  return statx(dirfd, name, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_WANT, stx);
}
static int stat_fd(int fd, struct statx *stx) { return statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_WANT, stx); }

static int open_dir_at(int dirfd, const char *name) {
  if (noatime_ok) {
    int fd = openat(dirfd, name, DIR_FLAGS | O_NOATIME);
    if (fd >= 0 || errno != EPERM) return fd;
    noatime_ok = 0;
  }
  return openat(dirfd, name, DIR_FLAGS);
}

/* ---------- reading a directory ---------- */

struct linux_dirent64 {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

/*
 * Streams the directory from its start, calling each(name, d_type, ctx) for every name but . and ..;
 * heartbeats meanwhile. 0, or -1 with errno.
 */
static int stream_dir(int fd, void (*each)(const char *, unsigned char, void *), void *ctx) {
  static char chunk[1 << 16];
  if (lseek(fd, 0, SEEK_SET) < 0) return -1;
  stream_started_ms = monotonic_ms();
  for (;;) {
    long n = syscall(SYS_getdents64, fd, chunk, sizeof chunk);
    if (n < 0) return -1;
    if (n == 0) return 0;
    long names = 0;
    for (long off = 0; off < n;) {
      struct linux_dirent64 *d = (struct linux_dirent64 *)(chunk + off);
      off += d->d_reclen;
      const char *name = d->d_name;
      if (name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0))) continue;
      each(name, d->d_type, ctx);
      names++;
    }
    tick(names);
  }
}

static int cmp_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void free_name(char *name) { free(name - 1); }

static void free_window(struct window *w) {
  for (size_t i = 0; i < w->count; i++) free_name(w->names[i]);
  free(w->names);
  w->names = NULL;
  w->count = w->next = 0;
}

static char *typed_name(const char *name, unsigned char type) {
  size_t len = strlen(name);
  char *copy = malloc(len + 2);
  if (!copy) abort();
  copy[0] = (char)type;
  memcpy(copy + 1, name, len + 1);
  return copy + 1;
}

struct window_build {
  struct window *w;
  size_t cap;
  const char *after; /* exclusive lower bound, or NULL */
  const char *until; /* upper bound, or NULL */
  int until_inclusive;
  int heap; /* names[] is a max-heap (the window is full) */
};

static void sift_down(char **h, size_t n, size_t i) {
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < n && strcmp(h[l], h[m]) > 0) m = l;
    if (r < n && strcmp(h[r], h[m]) > 0) m = r;
    if (m == i) return;
    char *t = h[i];
    h[i] = h[m];
    h[m] = t;
    i = m;
  }
}

static void window_add(const char *name, unsigned char type, void *ctx) {
  struct window_build *b = ctx;
  struct window *w = b->w;
  if (b->after && strcmp(name, b->after) <= 0) return;
  if (b->until) {
    int c = strcmp(name, b->until);
    if (c > 0 || (c == 0 && !b->until_inclusive)) return;
  }
  if (w->count < (size_t)window_size) {
    if (w->count == b->cap) {
      b->cap = b->cap ? b->cap * 2 : 64;
      if (b->cap > (size_t)window_size) b->cap = (size_t)window_size;
      w->names = realloc(w->names, b->cap * sizeof *w->names);
      if (!w->names) abort();
    }
    w->names[w->count++] = typed_name(name, type);
    return;
  }
  w->more = 1;
  if (!b->heap) {
    for (size_t i = w->count / 2; i-- > 0;) sift_down(w->names, w->count, i);
    b->heap = 1;
  }
  if (strcmp(name, w->names[0]) < 0) {
    free_name(w->names[0]);
    w->names[0] = typed_name(name, type);
    sift_down(w->names, w->count, 0);
  }
}

/* Reads the next window of the directory on top of the stack: the smallest names after the last one handled. */
static int load_window(struct frame *f) {
  if (f->w.count) {
    free(f->after);
    f->after = strdup(f->w.names[f->w.count - 1]);
    if (!f->after) abort();
  }
  free_window(&f->w);
  struct window_build b = {.w = &f->w, .after = f->after};
  if (f->recheck) {
    b.until = cursor[f->level];
    b.until_inclusive = f->level == cursor_length - 1;
  }
  f->w.more = 0;
  if (stream_dir(f->fd, window_add, &b)) {
    free_window(&f->w);
    return -1;
  }
  qsort(f->w.names, f->w.count, sizeof *f->w.names, cmp_names);
  return 0;
}

/* ---------- the walk ---------- */

/* Pushes a directory opened as fd (already checked); takes ownership of fd. */
static void push(const char *name, int fd, const struct statx *stx) {
  struct frame *f = &stack[depth];
  memset(f, 0, sizeof *f);
  f->fd = fd;
  f->name = strdup(name);
  if (!f->name) abort();
  f->uid = stx->stx_uid;
  f->gid = stx->stx_gid;
  f->w.more = 1;
  f->level = -1;
  depth++;
}

static void pop(void) {
  struct frame *f = &stack[--depth];
  free_window(&f->w);
  free(f->after);
  free(f->name);
  f->after = f->name = NULL;
}

/* Changes the inode behind fd (already checked); fd is closed later, in a batch. 0, or -1 with errno. */
static int change_by_descriptor(int fd) {
  if (fchownat(fd, "", want_uid, want_gid, AT_EMPTY_PATH)) return -1;
  keep_for_batch(fd);
  return 0;
}

/* A file (not a directory) that the statx `seen` showed wrong: through its own descriptor, checked again. */
static void change_file(const char *name, const struct statx *seen) {
  int fd = openat(stack[depth - 1].fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return;
    refuse_errno(name, errno);
    return;
  }
  struct statx now;
  if (stat_fd(fd, &now)) refuse_errno(name, errno);
  else if (!has_mount_id(&now)) refuse(name, "unknownMount", 0);
  else if (!on_root_mount(&now)) counts.skippedMounts++; /* mounted over since it was looked at */
  else if (!same_inode(&now, seen) || (!S_ISREG(now.stx_mode) && !S_ISFIFO(now.stx_mode))) refuse(name, "replaced", 0);
  else if (now.stx_nlink > 1) refuse(name, "hardLinks", now.stx_nlink);
  else if (change_by_descriptor(fd)) refuse_errno(name, errno);
  else {
    counts.changed++;
    expect_change = 1;
    return;
  }
  close(fd);
}

/* Opens and pushes a directory that stat_at showed as `seen`; 0 when it was refused or skipped instead. */
static int enter_directory(const char *name, const struct statx *seen) {
  if (depth >= max_depth) {
    refuse(name, "tooDeep", max_depth);
    return 0;
  }
  int fd = open_dir_at(stack[depth - 1].fd, name);
  if (fd < 0) {
    if (errno == ENOENT) return 0;
    if (errno == ELOOP || errno == ENOTDIR) refuse(name, "replaced", 0);
    else refuse_errno(name, errno);
    return 0;
  }
  struct statx stx;
  if (stat_fd(fd, &stx)) refuse_errno(name, errno);
  else if (!has_mount_id(&stx)) refuse(name, "unknownMount", 0);
  else if (!on_root_mount(&stx)) counts.skippedMounts++;
  else if (!same_inode(&stx, seen)) refuse(name, "replaced", 0);
  else {
    push(name, fd, &stx);
    return 1;
  }
  close(fd);
  return 0;
}

/* Everything about one entry from stat_at. Returns 1 when it pushed a directory (finished later). */
static int visit_stat(const char *name, int counted) {
  struct statx st;
  if (stat_at(stack[depth - 1].fd, name, &st)) {
    if (errno == ENOENT) return 0;
    if (!counted) counts.entries++;
    refuse_errno(name, errno);
    finished(name);
    return 0;
  }
  if (!counted) counts.entries++;
  if (S_ISLNK(st.stx_mode)) counts.skippedSymlinks++;
  else if (!has_mount_id(&st)) refuse(name, "unknownMount", 0);
  else if (!on_root_mount(&st)) counts.skippedMounts++;
  else if (S_ISDIR(st.stx_mode)) {
    if (enter_directory(name, &st)) return 1;
  } else if (is_right(st.stx_uid, st.stx_gid)) counts.alreadyRight++;
  else if (st.stx_nlink > 1) refuse(name, "hardLinks", st.stx_nlink);
  else if (S_ISBLK(st.stx_mode) || S_ISCHR(st.stx_mode)) refuse(name, "device", 0);
  else if (S_ISSOCK(st.stx_mode)) refuse(name, "socket", 0);
  else change_file(name, &st);
  finished(name);
  return 0;
}

/*
 * A regular file by the listing, while files are mostly wrong (a cold walk): open it O_PATH first and take
 * every fact from that descriptor, which saves the statx that would only be repeated on the descriptor.
 * Returns 0 when the descriptor shows something else than a regular file or FIFO (the caller looks again).
 */
static int visit_file_by_descriptor(const char *name) {
  int fd = openat(stack[depth - 1].fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT;
  struct statx st;
  if (stat_fd(fd, &st) || !has_mount_id(&st) || (!S_ISREG(st.stx_mode) && !S_ISFIFO(st.stx_mode))) {
    close(fd);
    return 0;
  }
  counts.entries++;
  if (!on_root_mount(&st)) counts.skippedMounts++;
  else if (is_right(st.stx_uid, st.stx_gid)) {
    counts.alreadyRight++;
    expect_change = 0;
  } else if (st.stx_nlink > 1) refuse(name, "hardLinks", st.stx_nlink);
  else if (change_by_descriptor(fd)) refuse_errno(name, errno);
  else fd = -1, counts.changed++;
  if (fd >= 0) close(fd);
  finished(name);
  return 1;
}

/* One entry of the directory on top of the stack; `counted`: already in the counts (the resume path). */
static void visit(const char *name, int counted) {
  unsigned char type = (unsigned char)name[-1];
  if (!counted && type == DT_REG && expect_change && visit_file_by_descriptor(name)) return;
  if (!counted && type == DT_LNK) {
    /* the listing says symlink: nothing to look at (a symlink is never followed nor changed) */
    counts.entries++;
    counts.skippedSymlinks++;
    finished(name);
    return;
  }
  if (type == DT_DIR && depth < max_depth) {
    /* a directory by the listing: open it first and take every fact from the descriptor itself */
    int fd = open_dir_at(stack[depth - 1].fd, name);
    if (fd >= 0) {
      struct statx stx;
      if (stat_fd(fd, &stx) == 0 && has_mount_id(&stx)) {
        if (!counted) counts.entries++;
        if (on_root_mount(&stx)) {
          push(name, fd, &stx);
          return;
        }
        close(fd);
        counts.skippedMounts++;
        finished(name);
        return;
      }
      close(fd);
    } else if (errno == ENOENT) return;
    /* no longer a directory, or no facts from the descriptor: look again */
  }
  visit_stat(name, counted);
}

/*
 * Resuming: an entry before the cursor, finished by the interrupted walk unless it was made or changed since.
 * One that is wrong and could be changed is visited (and counted) like a new one; anything else was counted
 * and, if refused, reported before, so it is left without a word.
 */
static void recheck(const char *name) {
  struct statx st;
  if (stat_at(stack[depth - 1].fd, name, &st)) return;
  if (S_ISLNK(st.stx_mode) || !has_mount_id(&st) || !on_root_mount(&st) || is_right(st.stx_uid, st.stx_gid)) return;
  if (S_ISDIR(st.stx_mode)) {
    if (depth >= max_depth) return;
  } else if (st.stx_nlink > 1 || S_ISBLK(st.stx_mode) || S_ISCHR(st.stx_mode) || S_ISSOCK(st.stx_mode)) return;
  visit_stat(name, 0);
}

/* The re-check of the directory on top (cursor level L) is done: enter the cursor's next directory. */
static void end_recheck(void) {
  struct frame *f = &stack[depth - 1];
  int level = f->level;
  f->recheck = 0;
  f->level = -1;
  free_window(&f->w);
  free(f->after);
  f->after = strdup(cursor[level]);
  if (!f->after) abort();
  f->w.more = 1;
  if (level == cursor_length - 1) {
    rechecking = 0;
    return;
  }
  char *typed = typed_name(cursor[level], DT_UNKNOWN);
  int before = depth;
  visit(typed, 1);
  free_name(typed);
  if (depth > before) {
    stack[depth - 1].recheck = 1;
    stack[depth - 1].level = level + 1;
  } else rechecking = 0; /* it is not the directory it was: the cursor ends here */
}

static int root_left;

/* After all children: the directory itself, through the descriptor that was listed. */
static void finish_directory(void) {
  struct frame *f = &stack[depth - 1];
  int is_root = depth == 1;
  if (is_right(f->uid, f->gid)) counts.alreadyRight++;
  else if (is_root && counts.refusedCount > 0) root_left = 1;
  else if (change_by_descriptor(f->fd)) {
    int err = errno;
    refuse_at(depth, NULL, "errno", err, err);
    if (is_root) root_left = 1;
  } else {
    counts.changed++;
    f->fd = -1; /* closed in a batch */
  }
  if (f->fd >= 0) close(f->fd);
  char *name = strdup(f->name);
  if (!name) abort();
  pop();
  if (depth > 0) finished(name);
  free(name);
}

/* A directory that cannot be read to its end is left as it is (a refusal, so the root stays wrong). */
static void abandon_directory(int err) {
  refuse_at(depth, NULL, "errno", err, err);
  struct frame *f = &stack[depth - 1];
  close(f->fd);
  char *name = strdup(f->name);
  if (!name) abort();
  pop();
  if (depth > 0) finished(name);
  free(name);
}

/* ---------- the root check ---------- */

static uint64_t rng_state;
static uint64_t random_below(uint64_t n) {
  /* xorshift64*: one draw per name streamed, so cheap; seeded from getrandom */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return (uint64_t)(((unsigned __int128)(rng_state * 2685821657736338717ULL) * n) >> 64);
}

struct reservoir {
  char **picks;
  size_t size, seen;
};

static void reservoir_add(const char *name, unsigned char type, void *ctx) {
  (void)type;
  struct reservoir *r = ctx;
  r->seen++;
  size_t slot = r->seen <= r->size ? r->seen - 1 : random_below(r->seen);
  if (slot >= r->size) return;
  if (r->seen > r->size) free(r->picks[slot]);
  r->picks[slot] = strdup(name);
  if (!r->picks[slot]) abort();
}

/*
 * OnRootMismatch plus drift detection: `budget` random descents from the directory on top of the stack,
 * which is streamed once: a reservoir of distinct children shares the budget, and each chosen directory is
 * pushed and sampled the same way with its share, down to max_depth. Any entry on the way with the wrong
 * owner (one the walk would change) means the volume is not done. 1 when every sampled entry was right.
 */
static int sample_looks_right(int budget) {
  int fd = stack[depth - 1].fd;
  struct reservoir r = {.picks = calloc((size_t)budget, sizeof(char *)), .size = (size_t)budget};
  if (!r.picks) abort();
  int ok = stream_dir(fd, reservoir_add, &r) == 0; /* one that cannot be read is for the walk to refuse */
  size_t chosen = r.seen < r.size ? r.seen : r.size;
  for (size_t i = 0; i < chosen && ok; i++) {
    int share = budget / (int)chosen + ((int)i < budget % (int)chosen);
    struct statx st;
    if (stat_at(fd, r.picks[i], &st) || S_ISLNK(st.stx_mode) || !has_mount_id(&st) || !on_root_mount(&st)) continue;
    int would_change = S_ISDIR(st.stx_mode) || (st.stx_nlink == 1 && !S_ISBLK(st.stx_mode) && !S_ISCHR(st.stx_mode) && !S_ISSOCK(st.stx_mode));
    if (would_change && !is_right(st.stx_uid, st.stx_gid)) ok = 0;
    else if (S_ISDIR(st.stx_mode) && depth < max_depth) {
      int child = open_dir_at(fd, r.picks[i]);
      if (child < 0) continue;
      struct statx opened;
      if (stat_fd(child, &opened) == 0 && has_mount_id(&opened) && on_root_mount(&opened) && same_inode(&opened, &st)) {
        push(r.picks[i], child, &opened);
        ok = sample_looks_right(share);
        pop();
      }
      close(child);
    }
  }
  for (size_t i = 0; i < r.size; i++) free(r.picks[i]);
  free(r.picks);
  return ok;
}

/* ---------- the root ---------- */

static int canonical(const char *path) {
  if (path[0] != '/') return 0;
  if (path[1] == 0) return 1;
  for (const char *p = path; *p;) {
    const char *component = p + 1, *end = strchr(component, '/');
    size_t len = end ? (size_t)(end - component) : strlen(component);
    if (len == 0 || (len == 1 && component[0] == '.') || (len == 2 && component[0] == '.' && component[1] == '.')) return 0;
    if (!end) break;
    p = end;
  }
  return 1;
}

/* One O_NOFOLLOW component at a time from "/"; names the first component that is not a plain directory. */
static int open_root_by_components(const char *path) {
  char message[8400];
  int fd = open("/", DIR_FLAGS);
  if (fd < 0) fail("cannot open /");
  char *copy = strdup(path);
  if (!copy) abort();
  for (char *component = strtok(copy, "/"); component; component = strtok(NULL, "/")) {
    int next = openat(fd, component, DIR_FLAGS);
    if (next < 0) {
      int err = errno;
      struct stat st;
      size_t upto = (size_t)(component - copy) + strlen(component);
      int isLink = fstatat(fd, component, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
      snprintf(message, sizeof message, "%.*s", (int)upto, path);
      char text[8500];
      if (isLink || err == ELOOP) {
        snprintf(text, sizeof text, "%s is a symlink: no component of a volume's host path may be one", message);
        fail_root("SymlinkInPath", text);
      }
      if (err == ENOENT) {
        snprintf(text, sizeof text, "%s does not exist", message);
        fail_root("NotFound", text);
      }
      if (err == ENOTDIR) {
        snprintf(text, sizeof text, "%s is not a directory", message);
        fail_root("NotADirectory", text);
      }
      errno = err;
      fail(message);
    }
    close(fd);
    fd = next;
  }
  free(copy);
  return fd;
}

static int open_root(const char *path) {
  struct open_how how = {.flags = DIR_FLAGS, .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
  int fd = (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how);
  if (fd >= 0) return fd;
  /* without openat2 (or refused by a filter), and to name the component that failed: the slow way */
  return open_root_by_components(path);
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: sharemount-walk root-hex uid gid [f] [s:N] [p:N] [t:MS] [d:N] [r:N] [w:N] [e:DEV:INO] [c:HEX]... [n:COUNTS]\n");
    return 2;
  }
  static char out_buffer[1 << 16];
  setvbuf(stdout, out_buffer, _IOFBF, sizeof out_buffer);
  root_path = from_hex(argv[1]);
  root_len = strlen(root_path);
  if (root_len == 1) root_len = 0; /* "/": children are "/name" */
  want_uid = (uid_t)strtoul(argv[2], NULL, 10);
  want_gid = (gid_t)strtoul(argv[3], NULL, 10);
  cursor = calloc((size_t)argc, sizeof *cursor);
  if (!cursor) abort();
  int resuming = 0, expect_root = 0;
  double expected_dev = 0, expected_ino = 0;
  for (int i = 4; i < argc; i++) {
    const char *a = argv[i], *v = a + 2;
    if (strcmp(a, "f") == 0) full_scan = 1;
    else if (strncmp(a, "s:", 2) == 0) sample_size = atoi(v);
    else if (strncmp(a, "p:", 2) == 0) progress_every = atoi(v);
    else if (strncmp(a, "t:", 2) == 0) progress_interval_ms = atoll(v);
    else if (strncmp(a, "d:", 2) == 0) max_depth = atoi(v);
    else if (strncmp(a, "r:", 2) == 0) refusals_to_send = atoll(v);
    else if (strncmp(a, "w:", 2) == 0) window_size = atoll(v);
    else if (strncmp(a, "e:", 2) == 0) {
      expect_root = 1;
      /* compared as doubles: the plan's numbers went through JavaScript */
      if (sscanf(v, "%lf:%lf", &expected_dev, &expected_ino) != 2) return 2;
    } else if (strncmp(a, "c:", 2) == 0) cursor[cursor_length++] = from_hex(v);
    else if (strncmp(a, "n:", 2) == 0) {
      resuming = 1;
      sscanf(v, "%lld,%lld,%lld,%lld,%lld,%lld", &counts.entries, &counts.changed, &counts.alreadyRight, &counts.refusedCount,
             &counts.skippedSymlinks, &counts.skippedMounts);
    } else {
      fprintf(stderr, "sharemount-walk: unknown option %s\n", a);
      return 2;
    }
  }
  if (max_depth < 1) max_depth = 1;
  if (progress_every < 1) progress_every = 1;
  if (window_size < 1) window_size = 1;
  if (sample_size < 0) sample_size = 0;
  if (getrandom(&rng_state, sizeof rng_state, 0) != sizeof rng_state || rng_state == 0) rng_state = (uint64_t)time(NULL) | 1;
  /* every level holds a descriptor, and up to BATCH changed files wait to be closed */
  struct rlimit files;
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }
  last_progress_ms = monotonic_ms();
  stack = calloc((size_t)max_depth + 1, sizeof *stack);
  if (!stack) abort();

  if (!canonical(root_path)) fail_root("NotCanonical", "the volume's host path must be absolute and canonical (no ., .., // nor trailing /)");
  int fd = open_root(root_path);
  struct statx stx;
  if (stat_fd(fd, &stx)) fail("cannot look at the volume root");
  if (!has_mount_id(&stx)) {
    errno = ENOSYS;
    fail("the kernel does not tell mount ids (statx STATX_MNT_ID, Linux 5.8)");
  }
  if (expect_root && ((double)statx_dev(&stx) != expected_dev || (double)stx.stx_ino != expected_ino))
    fail_root("RootChanged", "the volume root is not the directory the plan saw (device and inode differ)");
  root_dev = statx_dev(&stx);
  root_mnt_id = stx.stx_mnt_id;
  push("", fd, &stx);
  if (!resuming) counts.entries++;

  int skipped = 0;
  if (!full_scan && !resuming && is_right(stx.stx_uid, stx.stx_gid) && (sample_size == 0 || sample_looks_right(sample_size))) {
    counts.alreadyRight++;
    skipped = 1;
    close(fd);
    pop();
  }
  phase = 'w';
  /* the report a heartbeat repeats until there is a newer one */
  last_report.len = 0;
  buf_add(&last_report, "P w ", 4);
  add_counts(&last_report);
  for (int i = 0; i < cursor_length; i++) {
    buf_add(&last_report, " ", 1);
    buf_hex(&last_report, cursor[i], strlen(cursor[i]));
  }
  buf_add(&last_report, "\n", 1);
  if (cursor_length && depth) {
    rechecking = 1;
    stack[0].recheck = 1;
    stack[0].level = 0;
  }
  while (depth > 0) {
    struct frame *f = &stack[depth - 1];
    if (f->w.next < f->w.count) {
      const char *name = f->w.names[f->w.next++];
      if (f->recheck) recheck(name);
      else visit(name, 0);
    } else if (f->w.more) {
      if (load_window(f)) {
        if (depth == 1) fail("cannot list the volume root");
        abandon_directory(errno);
      }
    } else if (f->recheck) end_recheck();
    else finish_directory();
  }
  close_batch();
  printf("D ");
  struct buffer done = {0};
  add_counts(&done);
  fwrite(done.data, 1, done.len, stdout);
  printf(" %d %d\n", skipped, root_left);
  fflush(stdout);
  return 0;
}
