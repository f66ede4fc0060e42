#pragma once

/*
 * Keeps the process's standard output for the headless host's results alone.
 *
 * Returns a private descriptor on the real standard output (not inherited by child
 * processes) and points descriptor 1 at standard error, so that whatever else writes to
 * "stdout" (a plugin's print to sys.__stdout__, os.write(1, …), printf in C code) lands in the
 * log instead of corrupting the JSON. Call it once, before any plugin runs.
 *
 * Where descriptors cannot be duplicated (not POSIX), or when standard output or standard
 * error is closed, it changes nothing and returns 1.
 */
int reserveStandardOutput();
