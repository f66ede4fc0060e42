// Where threads run. On this 2-core VM a wake-up on the same CPU costs ~6 us and one on
// the other CPU ~23 us (shared/BASELINE.md), and the scheduler keeps whichever placement
// a thread started with: round trips are only comparable with both paths pinned alike.
#pragma once

#include <QString>

#include <sys/types.h>

namespace Bench
{

/// CPUs this process may run on.
int usableCpuCount();

/// The `index`-th of them (0 and 1 on a 2-core machine).
int usableCpu(int index);

/// Pins the thread `threadId` (a Linux tid; 0 for the calling thread) to `cpu`. Throws
/// std::runtime_error when the kernel refuses.
void pinThread(pid_t threadId, int cpu);

/// Lets the thread run on every CPU again.
void unpinThread(pid_t threadId);

/// The tid of the only thread of this process named `name` (as pthread_setname_np sets it,
/// at most 15 bytes), or throws std::runtime_error.
pid_t threadNamed(const QString &name);

/// The calling thread's tid.
pid_t currentThreadId();

} // namespace Bench
