package dev.backstop.inprocess;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import kafka.tools.StorageTool;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;

/**
 * A real Kafka broker in KRaft mode (one node, broker and controller) inside this JVM, keeping its
 * log under a directory so that a restart finds its topics again. Used by the embedded mode and by
 * tests; the wire protocol is the real one, so clients cannot tell it from a separate broker.
 */
public final class InProcessKafka implements AutoCloseable {

  private final KafkaRaftServer server;
  private final String bootstrapServers;
  /** The directory {@link #startTemporary} made, removed at close; null when the caller owns it. */
  private final Path temporary;

  private InProcessKafka(KafkaRaftServer server, String bootstrapServers, Path temporary) {
    this.server = server;
    this.bootstrapServers = bootstrapServers;
    this.temporary = temporary;
  }

  /**
   * Formats {@code dir} on first use and starts the broker. A port of 0 is, on a directory formatted
   * before, the one it used last (the controller's address is part of the stored quorum; the broker's is
   * taken again only if free), and on a new directory a free one, remembered for the next start.
   *
   * @throws IllegalStateException a port given, or the controller port the directory keeps, is taken
   */
  public static InProcessKafka start(Path dir, int brokerPort, int controllerPort) {
    return start(dir, brokerPort, controllerPort, null);
  }

  private static InProcessKafka start(Path dir, int brokerPort, int controllerPort, Path temporary) {
    try {
      Files.createDirectories(dir);
      Path logDir = dir.resolve("log");
      Path config = dir.resolve("server.properties");
      Properties last = new Properties();
      if (Files.exists(logDir.resolve("meta.properties")) && Files.exists(config)) {
        try (var in = Files.newInputStream(config)) {
          last.load(in);
        }
      }
      int lastPort = portIn(last.getProperty("advertised.listeners"));
      int lastControllerPort = portIn(last.getProperty("controller.quorum.voters"));
      int port = brokerPort != 0 ? requireFree(brokerPort, "Kafka's port " + brokerPort + " is taken")
          : lastPort != 0 && isFree(lastPort) ? lastPort : freePort();
      int cport = controllerPort != 0 ? requireFree(controllerPort, "Kafka's controller port " + controllerPort + " is taken")
          : lastControllerPort != 0 ? requireFree(lastControllerPort, "Kafka's controller port " + lastControllerPort
              + ", kept in the quorum under " + dir + ", is taken: does another Backstop run on this data directory?")
          : freePort();
      Properties props = new Properties();
      props.put("process.roles", "broker,controller");
      props.put("node.id", "1");
      props.put("controller.quorum.voters", "1@127.0.0.1:" + cport);
      props.put("listeners", "PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + cport);
      props.put("advertised.listeners", "PLAINTEXT://127.0.0.1:" + port);
      props.put("controller.listener.names", "CONTROLLER");
      props.put("inter.broker.listener.name", "PLAINTEXT");
      props.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
      props.put("log.dirs", logDir.toString());
      props.put("offsets.topic.replication.factor", "1");
      props.put("offsets.topic.num.partitions", "3");
      props.put("transaction.state.log.replication.factor", "1");
      props.put("transaction.state.log.min.isr", "1");
      props.put("share.coordinator.state.topic.replication.factor", "1");
      props.put("share.coordinator.state.topic.min.isr", "1");
      props.put("group.initial.rebalance.delay.ms", "0");
      props.put("num.partitions", "1");
      // Backstop's topics are its record and keep everything; a topic created before its service declares it must too
      props.put("log.retention.ms", "-1");
      props.put("auto.create.topics.enable", "true");

      try (var out = Files.newOutputStream(config)) {
        props.store(out, "in-process Kafka broker written by Backstop; regenerated at each start");
      }
      if (!Files.exists(logDir.resolve("meta.properties"))) {
        format(config);
      }
      KafkaRaftServer server = new KafkaRaftServer(KafkaConfig.fromProps(props), Time.SYSTEM);
      server.startup();
      return new InProcessKafka(server, "127.0.0.1:" + port, temporary);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A throwaway broker under a temporary directory, for tests; the directory goes at {@link #close}. */
  public static InProcessKafka startTemporary() {
    try {
      Path dir = Files.createTempDirectory("backstop-kafka");
      return start(dir, 0, 0, dir);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public String bootstrapServers() {
    return bootstrapServers;
  }

  @Override
  public void close() {
    server.shutdown();
    server.awaitShutdown();
    // a test may close a broker twice (once to see what a service does without it, once when done)
    if (temporary != null && Files.exists(temporary)) {
      try (var paths = Files.walk(temporary)) {
        for (Path path : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(path);
        }
      } catch (IOException e) {
        throw new UncheckedIOException("could not remove the broker's temporary directory " + temporary, e);
      }
    }
  }

  private static void format(Path config) {
    ByteArrayOutputStream output = new ByteArrayOutputStream();
    int exit;
    try (PrintStream print = new PrintStream(output, true, StandardCharsets.UTF_8)) {
      exit = StorageTool.execute(
          new String[] {"format", "-t", Uuid.randomUuid().toString(), "-c", config.toString(), "--ignore-formatted"},
          print);
    }
    if (exit != 0) {
      throw new IllegalStateException("formatting the Kafka log failed: " + output.toString(StandardCharsets.UTF_8));
    }
  }

  /** The port of the last {@code host:port} in a listener or voter list; 0 for none. */
  private static int portIn(String addresses) {
    if (addresses == null || addresses.lastIndexOf(':') < 0) {
      return 0;
    }
    try {
      return Integer.parseInt(addresses.substring(addresses.lastIndexOf(':') + 1).trim());
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  private static boolean isFree(int port) {
    try (ServerSocket socket = new ServerSocket(port, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
      return true;
    } catch (IOException taken) {
      return false;
    }
  }

  private static int requireFree(int port, String otherwise) {
    if (!isFree(port)) {
      throw new IllegalStateException(otherwise);
    }
    return port;
  }

  static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      socket.setReuseAddress(true);
      return socket.getLocalPort();
    }
  }
}
