package io.agentpdp.web;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A pool of blocking threads that gives each task to the thread that went idle last (see {@link RequestThreads} for
 * why). At most {@code maxThreads} threads, made on demand and ended after {@code keepAlive} idle; when all are busy,
 * tasks wait in arrival order and the next thread to finish takes the oldest. One lock guards the idle stack, the
 * waiting tasks and the thread count; a task is handed to an idle thread under it, so none is lost between a thread
 * going idle and a task arriving. (A {@link java.util.concurrent.ForkJoinPool} also keeps idle threads on a stack, but
 * it is made for tasks that do not block: given four blocking tasks and twenty more, it ran one and left the other
 * three queued behind it while three of its threads slept.)
 */
final class LifoThreadPool implements Executor {

    private final ReentrantLock lock = new ReentrantLock();
    private final ArrayDeque<Worker> idle = new ArrayDeque<>();        // first: the thread that went idle last
    private final ArrayDeque<Runnable> waiting = new ArrayDeque<>();   // first: the oldest task
    private final int maxThreads;
    private final long keepAliveNanos;
    private final ThreadFactory threads;
    private int threadCount;
    private volatile boolean shutdown;

    LifoThreadPool(int maxThreads, Duration keepAlive, ThreadFactory threads) {
        if (maxThreads < 1) {
            throw new IllegalArgumentException("maxThreads must be at least 1");
        }
        this.maxThreads = maxThreads;
        this.keepAliveNanos = keepAlive.toNanos();
        this.threads = threads;
    }

    @Override
    public void execute(Runnable task) {
        Objects.requireNonNull(task, "task");
        Worker worker;
        boolean newThread = false;
        lock.lock();
        try {
            if (shutdown) {
                throw new RejectedExecutionException("The request thread pool is shut down");
            }
            worker = idle.pollFirst();
            if (worker != null) {
                worker.next = task;
            } else if (threadCount < maxThreads) {
                threadCount++;
                worker = new Worker(task);
                newThread = true;
            } else {
                waiting.addLast(task);
                return;
            }
        } finally {
            lock.unlock();
        }
        if (newThread) {
            start(worker);
        } else {
            LockSupport.unpark(worker.thread);
        }
    }

    /** Threads now (busy and idle). */
    int threadCount() {
        lock.lock();
        try {
            return threadCount;
        } finally {
            lock.unlock();
        }
    }

    /** Tasks waiting for a thread. */
    int waitingCount() {
        lock.lock();
        try {
            return waiting.size();
        } finally {
            lock.unlock();
        }
    }

    /** Accepts no more tasks; idle threads end, busy ones end after the waiting tasks are done. */
    void shutdown() {
        lock.lock();
        try {
            shutdown = true;
            for (Worker worker : idle) {
                LockSupport.unpark(worker.thread);
            }
        } finally {
            lock.unlock();
        }
    }

    private void start(Worker worker) {
        try {
            Thread thread = threads.newThread(worker);
            worker.thread = thread;
            thread.start();
        } catch (RuntimeException | Error e) {
            lock.lock();
            try {
                threadCount--;
            } finally {
                lock.unlock();
            }
            throw new RejectedExecutionException("No request thread could be started", e);
        }
    }

    private final class Worker implements Runnable {
        private volatile Runnable next;
        private volatile Thread thread;

        Worker(Runnable first) {
            this.next = first;
        }

        @Override
        public void run() {
            Runnable task = next;
            while (task != null) {
                Thread.interrupted();   // a task's interrupt is not the next task's
                try {
                    task.run();
                } catch (RuntimeException | Error e) {
                    report(e);
                }
                task = nextTask();
            }
        }

        /** A task's failure goes to the thread's handler, as it would end a thread of Tomcat's pool; the thread goes on. */
        private static void report(Throwable failure) {
            Thread current = Thread.currentThread();
            try {
                current.getUncaughtExceptionHandler().uncaughtException(current, failure);
            } catch (RuntimeException | Error ignored) {
                // A handler that fails must not end the thread: its slot would never be given back.
            }
        }

        /** The oldest waiting task, or the next one handed to this thread while idle; null when it is to end. */
        private Runnable nextTask() {
            lock.lock();
            try {
                Runnable oldest = waiting.pollFirst();
                if (oldest != null) {
                    return oldest;
                }
                if (shutdown) {
                    threadCount--;
                    return null;
                }
                next = null;
                idle.addFirst(this);
            } finally {
                lock.unlock();
            }
            long deadline = System.nanoTime() + keepAliveNanos;
            while (true) {
                Runnable handed = next;
                if (handed != null) {
                    return handed;
                }
                long left = deadline - System.nanoTime();
                if (left <= 0 || shutdown) {
                    lock.lock();
                    try {
                        if (next != null) {
                            return next;   // handed over just before the lock
                        }
                        idle.remove(this);
                        threadCount--;
                        return null;
                    } finally {
                        lock.unlock();
                    }
                }
                LockSupport.parkNanos(this, left);
            }
        }
    }
}
