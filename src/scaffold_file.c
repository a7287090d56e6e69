/*
** scaffold_file.c: the file-system helpers of the scaffolding commands:
** joining paths, mkdir -p, creating a file that must not exist, reading
** a whole file. They never print and never touch the host: failures are
** -1 with errno set (NULL on OOM for lm_scaffold_path_join), and the
** caller words the message. A new file is created with O_EXCL, so an
** existing file is never overwritten, and a partly written one is removed.
*/
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scaffold_int.h"
#include "sqlbuf.h"

/* dir/name in a malloc'd string (caller frees); "." as dir gives name
** alone so messages read "lmigrate.lua", not "./lmigrate.lua". NULL on
** OOM. */
char *lm_scaffold_path_join(const char *dir, const char *name)
{
  size_t dl, nl = strlen(name);
  char *p;
  if (dir == NULL || strcmp(dir, ".") == 0 || *dir == '\0')
    return strdup(name);
  dl = strlen(dir);
  while (dl > 1 && dir[dl - 1] == '/')
    dl--;
  p = malloc(dl + nl + 2);
  if (p == NULL)
    return NULL;
  memcpy(p, dir, dl);
  p[dl] = '/';
  memcpy(p + dl + 1, name, nl + 1);
  return p;
}

/* mkdir -p: create path and its missing parents (mode 0777 & ~umask).
** Returns 0, or -1 with errno set; an existing non-directory is ENOTDIR. */
int lm_scaffold_mkdir_p(const char *path)
{
  char *tmp, *s;
  struct stat st;
  if (stat(path, &st) == 0) {
    if (S_ISDIR(st.st_mode))
      return 0;
    errno = ENOTDIR;
    return -1;
  }
  tmp = strdup(path);
  if (tmp == NULL)
    return -1;
  for (s = tmp + 1; *s; s++) {
    if (*s != '/')
      continue;
    *s = '\0';
    if (mkdir(tmp, 0777) != 0 && errno != EEXIST) {
      free(tmp);
      return -1;
    }
    *s = '/';
  }
  free(tmp);
  if (mkdir(path, 0777) != 0 && errno != EEXIST)
    return -1;
  return 0;
}

/* Create path (which must not exist) holding len bytes of data. Returns
** 0, or -1 with errno set (EEXIST when the file is already there); a
** partly written file is removed. */
int lm_scaffold_write_new(const char *path, const char *data, size_t len)
{
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  int saved;
  if (fd < 0)
    return -1;
  while (len > 0) {
    ssize_t n = write(fd, data, len);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      goto fail;
    }
    data += n;
    len -= (size_t)n;
  }
  if (close(fd) != 0) {
    fd = -1;
    goto fail;
  }
  return 0;
fail:
  saved = errno;
  if (fd >= 0)
    close(fd);
  unlink(path);
  errno = saved;
  return -1;
}

/* The whole file at path in sb. Returns 0, or -1 with errno set. */
int lm_scaffold_read_file(const char *path, struct lm_sqlbuf *sb)
{
  char chunk[4096];
  size_t n;
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    return -1;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
    lm_sb_addn(sb, chunk, n);
  if (ferror(f)) {
    int saved = errno;
    fclose(f);
    errno = saved ? saved : EIO;
    return -1;
  }
  fclose(f);
  if (!lm_sb_ok(sb)) {
    errno = ENOMEM;
    return -1;
  }
  return 0;
}
