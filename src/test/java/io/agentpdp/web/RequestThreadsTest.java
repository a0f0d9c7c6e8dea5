package io.agentpdp.web;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;

/**
 * The request pool hands each request to the thread that went idle last, so that at moderate load a few threads
 * (and the database connections and sessions they hold) do the work; it never runs more threads than its bound,
 * the rest wait in arrival order, and no request is left waiting while a thread sleeps.
 */
class RequestThreadsTest {

    private static final Duration KEEP_ALIVE = Duration.ofSeconds(60);

    @Test
    void oneRequestAtATimeRunsOnTheThreadThatWentIdleLast() throws Exception {
        LifoThreadPool pool = RequestThreads.pool(16, KEEP_ALIVE);
        try {
            // Eight threads exist and are idle, as after a burst.
            CountDownLatch started = new CountDownLatch(8);
            CountDownLatch release = new CountDownLatch(1);
            for (int i = 0; i < 8; i++) {
                pool.execute(() -> {
                    started.countDown();
                    await(release);
                });
            }
            assertThat(started.await(10, TimeUnit.SECONDS)).isTrue();
            release.countDown();
            Thread.sleep(100);
            assertThat(pool.threadCount()).isEqualTo(8);

            // Then one request at a time: Tomcat's own pool would take each of the eight in turn.
            Map<String, Integer> runs = new ConcurrentHashMap<>();
            for (int i = 0; i < 40; i++) {
                CountDownLatch done = new CountDownLatch(1);
                pool.execute(() -> {
                    runs.merge(Thread.currentThread().getName(), 1, Integer::sum);
                    done.countDown();
                });
                assertThat(done.await(10, TimeUnit.SECONDS)).isTrue();
                Thread.sleep(2);
            }
            assertThat(runs).as("runs per thread").hasSize(1);
            assertThat(runs.keySet()).allMatch(name -> name.startsWith("http-nio-request-"));
        } finally {
            pool.shutdown();
        }
    }

    @Test
    void noMoreThreadsThanTheBoundAndTheRestWaitInArrivalOrder() throws Exception {
        LifoThreadPool pool = RequestThreads.pool(4, KEEP_ALIVE);
        try {
            CountDownLatch started = new CountDownLatch(4);
            CountDownLatch release = new CountDownLatch(1);
            Set<String> blocked = Collections.synchronizedSet(new HashSet<>());
            for (int i = 0; i < 4; i++) {
                pool.execute(() -> {
                    blocked.add(Thread.currentThread().getName());
                    started.countDown();
                    await(release);
                });
            }
            assertThat(started.await(10, TimeUnit.SECONDS)).as("four requests run at once").isTrue();
            List<Integer> order = Collections.synchronizedList(new ArrayList<>());
            CountDownLatch done = new CountDownLatch(50);
            for (int i = 0; i < 50; i++) {
                int n = i;
                pool.execute(() -> {
                    order.add(n);
                    done.countDown();
                });
            }
            Thread.sleep(100);
            assertThat(order).as("every thread is busy: the rest wait").isEmpty();
            assertThat(pool.threadCount()).isEqualTo(4);
            assertThat(pool.waitingCount()).isEqualTo(50);
            release.countDown();
            assertThat(done.await(10, TimeUnit.SECONDS)).isTrue();
            assertThat(blocked).hasSize(4);
            assertThat(pool.threadCount()).isLessThanOrEqualTo(4);
        } finally {
            pool.shutdown();
        }
        LifoThreadPool one = RequestThreads.pool(1, KEEP_ALIVE);
        try {
            CountDownLatch release = new CountDownLatch(1);
            List<Integer> order = Collections.synchronizedList(new ArrayList<>());
            CountDownLatch done = new CountDownLatch(50);
            one.execute(() -> await(release));
            for (int i = 0; i < 50; i++) {
                int n = i;
                one.execute(() -> {
                    order.add(n);
                    done.countDown();
                });
            }
            release.countDown();
            assertThat(done.await(10, TimeUnit.SECONDS)).isTrue();
            assertThat(order).as("waiting requests run oldest first").isSorted().hasSize(50);
        } finally {
            one.shutdown();
        }
    }

    @Test
    void underConcurrentSubmissionsEveryRequestRunsAndTheBoundHolds() throws Exception {
        LifoThreadPool pool = RequestThreads.pool(8, Duration.ofMillis(20));
        ExecutorService submitters = Executors.newFixedThreadPool(16);
        try {
            int requests = 20_000;
            CountDownLatch done = new CountDownLatch(requests);
            AtomicInteger running = new AtomicInteger();
            AtomicInteger mostRunning = new AtomicInteger();
            for (int s = 0; s < 16; s++) {
                submitters.execute(() -> {
                    for (int i = 0; i < requests / 16; i++) {
                        pool.execute(() -> {
                            mostRunning.accumulateAndGet(running.incrementAndGet(), Math::max);
                            if (ThreadLocalRandom.current().nextInt(8) == 0) {
                                LockSupportPark.parkMicros(ThreadLocalRandom.current().nextInt(200));
                            }
                            running.decrementAndGet();
                            done.countDown();
                        });
                        if (ThreadLocalRandom.current().nextInt(64) == 0) {
                            // Gaps let threads go idle (and some end after the 20 ms keep-alive) between bursts.
                            LockSupportPark.parkMicros(ThreadLocalRandom.current().nextInt(30_000));
                        }
                    }
                });
            }
            assertThat(done.await(60, TimeUnit.SECONDS)).as("every request ran, none stranded").isTrue();
            assertThat(mostRunning.get()).isLessThanOrEqualTo(8);
            assertThat(pool.threadCount()).isLessThanOrEqualTo(8);
            assertThat(pool.waitingCount()).isZero();
        } finally {
            submitters.shutdownNow();
            pool.shutdown();
        }
    }

    @Test
    void idleThreadsEndAfterTheKeepAliveAndNewOnesStartWhenNeeded() throws Exception {
        LifoThreadPool pool = RequestThreads.pool(4, Duration.ofMillis(50));
        try {
            CountDownLatch done = new CountDownLatch(4);
            CountDownLatch release = new CountDownLatch(1);
            for (int i = 0; i < 4; i++) {
                pool.execute(() -> {
                    await(release);
                    done.countDown();
                });
            }
            release.countDown();
            assertThat(done.await(10, TimeUnit.SECONDS)).isTrue();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (pool.threadCount() > 0 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertThat(pool.threadCount()).isZero();
            CountDownLatch again = new CountDownLatch(1);
            pool.execute(again::countDown);
            assertThat(again.await(10, TimeUnit.SECONDS)).isTrue();
        } finally {
            pool.shutdown();
        }
    }

    @Test
    void aFailingRequestDoesNotEndItsThreadAndTheThreadsCarryTheApplicationsClassLoader() throws Exception {
        LifoThreadPool pool = RequestThreads.pool(1, KEEP_ALIVE);
        try {
            CountDownLatch failed = new CountDownLatch(1);
            pool.execute(() -> {
                Thread.currentThread().setUncaughtExceptionHandler((t, e) -> failed.countDown());
                throw new IllegalStateException("boom");
            });
            assertThat(failed.await(10, TimeUnit.SECONDS)).isTrue();
            ClassLoader[] loader = new ClassLoader[1];
            CountDownLatch ran = new CountDownLatch(1);
            pool.execute(() -> {
                loader[0] = Thread.currentThread().getContextClassLoader();
                ran.countDown();
            });
            assertThat(ran.await(10, TimeUnit.SECONDS)).isTrue();
            assertThat(loader[0]).isSameAs(RequestThreads.class.getClassLoader());
            assertThat(pool.threadCount()).isEqualTo(1);
        } finally {
            pool.shutdown();
        }
        assertThat(org.assertj.core.api.Assertions.catchThrowable(() -> pool.execute(() -> { })))
                .isInstanceOf(java.util.concurrent.RejectedExecutionException.class);
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static final class LockSupportPark {
        static void parkMicros(int micros) {
            java.util.concurrent.locks.LockSupport.parkNanos(micros * 1000L);
        }
    }
}
