/* Run a command and print its wall time, CPU time and peak RSS as JSON on stderr's last line.
 *
 * usage: bench-measure COMMAND [ARGS...]
 *
 * Why not measure from the harness itself: Linux keeps the peak RSS a process had before
 * execve (ru_maxrss survives exec), so a child forked from a large harness reports at least the
 * harness's own size. This helper is small; the command it forks inherits almost nothing. */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench-measure COMMAND [ARGS...]\n");
        return 2;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    if (pid < 0) return 1;
    if (pid == 0) {
        execvp(argv[1], argv + 1);
        perror(argv[1]);
        _exit(127);
    }
    int status = 0;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0) return 1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double wall = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    double cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                 (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    fprintf(stderr, "{\"wall_s\": %.6f, \"cpu_s\": %.6f, \"maxrss_kib\": %ld, \"exit\": %d}\n",
            wall, cpu, ru.ru_maxrss, code);
    return code;
}
