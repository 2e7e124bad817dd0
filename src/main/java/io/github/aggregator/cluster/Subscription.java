package io.github.aggregator.cluster;

import java.lang.System.Logger.Level;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisPubSub;

/**
 * This instance's subscription to the snapshot channel, on a thread of its own with a dedicated connection. After each
 * (re)subscription it asks for a catch-up read of the shared state, since messages published while it was not
 * listening are gone. On a standalone Redis a broken subscription means Redis is gone (the failure is reported); in a
 * cluster, where PUBLISH reaches the subscribers of every node, it resubscribes on the next node and reports a failure
 * only when the connection cannot be made at all.
 */
final class Subscription {
    private static final System.Logger LOG = System.getLogger(Subscription.class.getName());

    private final Connector connector;
    private final Consumer<String> messages;
    private final Runnable subscribed;
    private final Consumer<RuntimeException> failed;
    private final BooleanSupplier paused;
    private final Thread thread;
    private final Listener listener = new Listener();
    private volatile Jedis connection;
    private volatile boolean closed;

    /**
     * @param messages gets each message, on the subscriber thread
     * @param subscribed runs after each subscription is in place
     * @param failed told when Redis cannot be reached for subscribing
     * @param paused while true (the instance is degraded) no subscription is attempted
     */
    Subscription(
            Connector connector,
            Consumer<String> messages,
            Runnable subscribed,
            Consumer<RuntimeException> failed,
            BooleanSupplier paused) {
        this.connector = connector;
        this.messages = messages;
        this.subscribed = subscribed;
        this.failed = failed;
        this.paused = paused;
        this.thread = new Thread(this::run, "cluster-subscriber");
        thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    /** Drops the current connection (the loop makes a new one once the instance is no longer degraded). */
    void drop() {
        Jedis j = connection;
        if (j != null) {
            j.disconnect();
        }
    }

    void close() {
        closed = true;
        drop();
        thread.interrupt();
    }

    private void run() {
        while (!closed) {
            if (!paused.getAsBoolean()) {
                try (Jedis j = connector.subscriber()) {
                    connection = j;
                    j.subscribe(listener, connector.link().keys().channel());
                } catch (RuntimeException e) {
                    if (closed) {
                        return;
                    }
                    if (connector.cluster()) {
                        LOG.log(Level.DEBUG, "cluster: subscribing on the next node: " + connector.safe(e));
                    } else {
                        failed.accept(e);
                    }
                } finally {
                    connection = null;
                }
            }
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private final class Listener extends JedisPubSub {
        @Override
        public void onSubscribe(String channel, int subscribedChannels) {
            subscribed.run();
        }

        @Override
        public void onMessage(String channel, String message) {
            messages.accept(message);
        }
    }
}
