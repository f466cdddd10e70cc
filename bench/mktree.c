/*
 * Builds a benchmark tree fast: `mktree <root> <entries> [files-per-dir | flat]`.
 * Layout: <root>/gNNNN/dNNNN/fNNNN (empty regular files), about one symlink (to /etc/passwd, outside the
 * tree) and one hard link (to a file of the tree) per 10,000 entries; or, with `flat`, every entry an empty
 * file <root>/fNNNNNNNN in one directory (the memory case). Prints the number of entries made, the root
 * included. The root must not exist yet.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static long made = 0;

static void die(const char *what) {
  perror(what);
  exit(1);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: mktree <root> <entries> [files-per-dir]\n");
    return 2;
  }
  const char *root = argv[1];
  long target = atol(argv[2]);
  int flat = argc > 3 && strcmp(argv[3], "flat") == 0;
  long perDir = argc > 3 && !flat ? atol(argv[3]) : 100;
  if (perDir < 1) perDir = 1;
  if (mkdir(root, 0755)) die(root);
  int rootFd = open(root, O_RDONLY | O_DIRECTORY);
  if (rootFd < 0) die(root);
  made = 1;
  char name[64];
  if (flat) {
    for (; made < target; made++) {
      snprintf(name, sizeof name, "f%08ld", made);
      int fd = openat(rootFd, name, O_CREAT | O_WRONLY | O_EXCL, 0644);
      if (fd < 0) die(name);
      close(fd);
    }
    printf("%ld\n", made);
    return 0;
  }
  long specials = target / 10000; /* symlinks and hard links, each */
  if (specials < 1) specials = 1;
  long dirIndex = 0;
  int groupFd = -1;
  while (made < target) {
    if (dirIndex % 100 == 0) {
      if (groupFd >= 0) close(groupFd);
      snprintf(name, sizeof name, "g%04ld", dirIndex / 100);
      if (mkdirat(rootFd, name, 0755)) die(name);
      groupFd = openat(rootFd, name, O_RDONLY | O_DIRECTORY);
      if (groupFd < 0) die(name);
      made++;
    }
    snprintf(name, sizeof name, "d%04ld", dirIndex % 100);
    if (mkdirat(groupFd, name, 0755)) die(name);
    int dirFd = openat(groupFd, name, O_RDONLY | O_DIRECTORY);
    if (dirFd < 0) die(name);
    made++;
    dirIndex++;
    for (long f = 0; f < perDir && made < target; f++) {
      snprintf(name, sizeof name, "f%04ld", f);
      int fd = openat(dirFd, name, O_CREAT | O_WRONLY | O_EXCL, 0644);
      if (fd < 0) die(name);
      close(fd);
      made++;
      if (f == 1 && specials > 0 && made < target) {
        if (symlinkat("/etc/passwd", dirFd, "link-out")) die("symlink");
        made++;
        if (made < target) {
          if (linkat(dirFd, "f0000", dirFd, "hard", 0)) die("link");
          made++;
        }
        specials--;
      }
    }
    close(dirFd);
  }
  printf("%ld\n", made);
  return 0;
}
