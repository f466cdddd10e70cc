/*
 * sharemount-idmapped-mount: for tests only. Plays what a Proxmox node does when it starts a container whose
 * mount point has `idmap=`, then runs one command as a user of that container:
 *
 *   1. a private mount namespace for the whole run, so no mount made here reaches the host's mount table;
 *   2. per --mount SOURCE TARGET MAP: a user namespace whose uid_map/gid_map are MAP (root writes them itself,
 *      as pve-container's PVE::LXC::Namespaces::new_userns has newuidmap do), then open_tree(OPEN_TREE_CLONE)
 *      on SOURCE, mount_setattr(MOUNT_ATTR_IDMAP) with that namespace, move_mount onto TARGET (the order of
 *      lxc-pve-prestart-hook's setup_mountpoint and LXC's create_detached_idmapped_mount / move_detached_mount);
 *   3. the command in a new user namespace whose maps are --container MAP (the container's lxc.idmap), as
 *      --user UID:GID of that namespace (default 0:0, container root).
 *
 *   --fuse DIR mounts, before the --mount steps, a FUSE file system at DIR served by a child of this helper
 *   that answers INIT without FUSE_ALLOW_IDMAP (what a FUSE server that never asked for idmapped mounts does),
 *   so a test can see the kernel refuse MOUNT_ATTR_IDMAP there.
 *
 * MAP: entries "u:INSIDE:OUTSIDE:COUNT" or "g:…", separated by ';' (one uid_map/gid_map line each).
 * Exit: the command's status; 125 bad usage; 126 a namespace or map step failed; 127 the command did not run;
 * 124 mount_setattr(MOUNT_ATTR_IDMAP) refused (its errno is printed: EINVAL where the file system cannot).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/fuse.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define EXIT_USAGE 125
#define EXIT_SETUP 126
#define EXIT_NO_COMMAND 127
#define EXIT_IDMAP_REFUSED 124
#define MAX_MOUNTS 8
#define MAP_TEXT 4096

static void die(int code, const char *what) {
  fprintf(stderr, "sharemount-idmapped-mount: %s: %s\n", what, strerror(errno));
  exit(code);
}

static void usage(const char *why) {
  fprintf(stderr,
          "sharemount-idmapped-mount: %s\nusage: sharemount-idmapped-mount [--fuse DIR] [--mount SOURCE TARGET MAP]... "
          "--container MAP [--user UID:GID] -- COMMAND [ARG]...\n",
          why);
  exit(EXIT_USAGE);
}

/* MAP → the text of uid_map and of gid_map ("INSIDE OUTSIDE COUNT\n" per entry of that type). */
static void split_map(const char *map, char *uid_map, char *gid_map) {
  uid_map[0] = gid_map[0] = '\0';
  const char *p = map;
  while (*p) {
    char type;
    unsigned long inside, outside, count;
    int used = 0;
    if (sscanf(p, "%c:%lu:%lu:%lu%n", &type, &inside, &outside, &count, &used) != 4 || (type != 'u' && type != 'g') || count == 0)
      usage("a MAP entry is not u|g:INSIDE:OUTSIDE:COUNT");
    char *out = type == 'u' ? uid_map : gid_map;
    size_t len = strlen(out);
    if (snprintf(out + len, MAP_TEXT - len, "%lu %lu %lu\n", inside, outside, count) >= (int)(MAP_TEXT - len)) usage("MAP too long");
    p += used;
    if (*p == ';') p++;
    else if (*p) usage("MAP entries are separated by ';'");
  }
}

static void write_file(pid_t pid, const char *name, const char *text) {
  if (!text[0]) return;
  char file[64];
  snprintf(file, sizeof file, "/proc/%d/%s", (int)pid, name);
  int fd = open(file, O_WRONLY | O_CLOEXEC);
  if (fd < 0) die(EXIT_SETUP, file);
  ssize_t n = write(fd, text, strlen(text));
  if (n != (ssize_t)strlen(text)) die(EXIT_SETUP, file);
  close(fd);
}

/*
 * A child in a new user namespace, stopped until the parent has written its maps: the pipe `ready` says the
 * namespace exists, `go` closing says the maps are written.
 */
struct mapped_child {
  pid_t pid;
  int go;
};

static struct mapped_child child_in_new_userns(const char *map) {
  char uid_map[MAP_TEXT], gid_map[MAP_TEXT];
  split_map(map, uid_map, gid_map);
  int ready[2], go[2];
  if (pipe2(ready, O_CLOEXEC) || pipe2(go, O_CLOEXEC)) die(EXIT_SETUP, "pipe");
  pid_t pid = fork();
  if (pid < 0) die(EXIT_SETUP, "fork");
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    close(ready[0]);
    close(go[1]);
    if (unshare(CLONE_NEWUSER)) die(EXIT_SETUP, "unshare(CLONE_NEWUSER)");
    close(ready[1]);
    char byte;
    if (read(go[0], &byte, 1) != 0) _exit(EXIT_SETUP);
    close(go[0]);
    return (struct mapped_child){0, -1};
  }
  close(ready[1]);
  close(go[0]);
  char byte;
  if (read(ready[0], &byte, 1) != 0) usage("the namespace child died before unshare");
  close(ready[0]);
  write_file(pid, "uid_map", uid_map);
  write_file(pid, "gid_map", gid_map);
  return (struct mapped_child){pid, go[1]};
}

static int exit_status(pid_t pid) {
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) die(EXIT_SETUP, "waitpid");
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* A user namespace with MAP, held by an open descriptor; the child that made it is gone. */
static int userns_with_map(const char *map) {
  struct mapped_child child = child_in_new_userns(map);
  if (child.pid == 0) _exit(0);
  char file[64];
  snprintf(file, sizeof file, "/proc/%d/ns/user", (int)child.pid);
  int fd = open(file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) die(EXIT_SETUP, file);
  close(child.go);
  exit_status(child.pid);
  return fd;
}

static void idmapped_mount(const char *source, const char *target, const char *map) {
  int userns = userns_with_map(map);
  int tree = (int)syscall(SYS_open_tree, AT_FDCWD, source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
  if (tree < 0) die(EXIT_SETUP, "open_tree(OPEN_TREE_CLONE)");
  struct mount_attr attr = {.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns};
  if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof attr)) {
    fprintf(stderr, "sharemount-idmapped-mount: mount_setattr(MOUNT_ATTR_IDMAP) on %s: %s (%s)\n", source, strerror(errno),
            strerrorname_np(errno));
    exit(EXIT_IDMAP_REFUSED);
  }
  if (syscall(SYS_move_mount, tree, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH)) die(EXIT_SETUP, "move_mount");
  close(tree);
  close(userns);
}

/* The FUSE server of --fuse: INIT without FUSE_ALLOW_IDMAP, the root's attributes, ENOSYS for the rest. */
static void serve_fuse(int dev) {
  static char buf[FUSE_MIN_READ_BUFFER + (1 << 17)];
  for (;;) {
    ssize_t n = read(dev, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == ENOENT)) continue;
    if (n < (ssize_t)sizeof(struct fuse_in_header)) _exit(0);
    const struct fuse_in_header *in = (const void *)buf;
    struct {
      struct fuse_out_header head;
      union {
        struct fuse_init_out init;
        struct fuse_attr_out attr;
      } body;
    } out = {0};
    size_t body = 0;
    out.head.unique = in->unique;
    if (in->opcode == FUSE_INIT) {
      out.body.init.major = FUSE_KERNEL_VERSION;
      out.body.init.minor = FUSE_KERNEL_MINOR_VERSION;
      out.body.init.max_write = 4096;
      body = sizeof out.body.init;
    } else if (in->opcode == FUSE_GETATTR && in->nodeid == FUSE_ROOT_ID) {
      out.body.attr.attr.ino = FUSE_ROOT_ID;
      out.body.attr.attr.mode = S_IFDIR | 0755;
      out.body.attr.attr.nlink = 2;
      body = sizeof out.body.attr;
    } else if (in->opcode == FUSE_FORGET || in->opcode == FUSE_BATCH_FORGET) {
      continue;
    } else {
      out.head.error = -ENOSYS;
    }
    out.head.len = (uint32_t)(sizeof out.head + body);
    if (write(dev, &out, out.head.len) < 0 && errno == ENODEV) _exit(0);
  }
}

static pid_t fuse_mount(const char *dir) {
  int dev = open("/dev/fuse", O_RDWR | O_CLOEXEC);
  if (dev < 0) die(EXIT_SETUP, "/dev/fuse");
  char options[128];
  snprintf(options, sizeof options, "fd=%d,rootmode=40755,user_id=0,group_id=0", dev);
  if (mount("sharemount-test", dir, "fuse.sharemount-test", MS_NOSUID | MS_NODEV, options)) die(EXIT_SETUP, "mount -t fuse");
  pid_t server = fork();
  if (server < 0) die(EXIT_SETUP, "fork");
  if (server == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    serve_fuse(dev);
  }
  close(dev);
  return server;
}

int main(int argc, char **argv) {
  const char *mounts[MAX_MOUNTS][3];
  int n_mounts = 0;
  const char *container = NULL, *fuse_dir = NULL;
  unsigned long uid = 0, gid = 0;
  int i = 1;
  for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
    if (!strcmp(argv[i], "--mount") && i + 3 < argc && n_mounts < MAX_MOUNTS) {
      for (int k = 0; k < 3; k++) mounts[n_mounts][k] = argv[++i];
      n_mounts++;
    } else if (!strcmp(argv[i], "--container") && i + 1 < argc) {
      container = argv[++i];
    } else if (!strcmp(argv[i], "--fuse") && i + 1 < argc) {
      fuse_dir = argv[++i];
    } else if (!strcmp(argv[i], "--user") && i + 1 < argc) {
      char tail;
      if (sscanf(argv[++i], "%lu:%lu%c", &uid, &gid, &tail) != 2) usage("--user takes UID:GID");
    } else {
      usage("unknown or incomplete option");
    }
  }
  if (!container) usage("--container MAP is required");
  if (i + 1 >= argc) usage("no command after --");
  char **command = argv + i + 1;

  if (unshare(CLONE_NEWNS)) die(EXIT_SETUP, "unshare(CLONE_NEWNS)");
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) die(EXIT_SETUP, "mount --make-rprivate /");
  pid_t fuse_server = fuse_dir ? fuse_mount(fuse_dir) : 0;
  for (int k = 0; k < n_mounts; k++) idmapped_mount(mounts[k][0], mounts[k][1], mounts[k][2]);

  struct mapped_child child = child_in_new_userns(container);
  if (child.pid == 0) {
    if (setgroups(0, NULL)) die(EXIT_SETUP, "setgroups");
    if (setresgid((gid_t)gid, (gid_t)gid, (gid_t)gid)) die(EXIT_SETUP, "setresgid (is GID mapped by --container?)");
    if (setresuid((uid_t)uid, (uid_t)uid, (uid_t)uid)) die(EXIT_SETUP, "setresuid (is UID mapped by --container?)");
    execvp(command[0], command);
    die(EXIT_NO_COMMAND, command[0]);
  }
  close(child.go);
  int status = exit_status(child.pid);
  if (fuse_server) kill(fuse_server, SIGKILL);
  return status;
}
