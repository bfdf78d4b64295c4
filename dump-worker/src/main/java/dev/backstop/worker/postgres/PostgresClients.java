package dev.backstop.worker.postgres;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Which {@code pg_dump}, {@code pg_basebackup} and {@code pg_restore} to run. {@code pg_dump} and
 * {@code pg_basebackup} refuse a server of a newer major version than their own ("aborting because of
 * server version mismatch", "incompatible server version"), and {@code pg_restore} a dump of a newer
 * {@code pg_dump} ("unsupported version in file header"), so a worker serving servers of
 * several majors keeps the clients of each side by side, as Debian's packages do under
 * {@code /usr/lib/postgresql/<major>/bin}.
 *
 * <p>For a server of major N, {@code pg_dump} is N's own if installed (its dump is then restorable with
 * the customer's own N tools), else the newest installed one above N; the configured program (a bare
 * name is looked up on PATH) is a candidate too, for its {@code --version}. None at least N: the backup
 * fails, saying which majors are there. {@code pg_basebackup} is chosen the same way (the one on PATH is
 * the configured program). {@code pg_restore} is the newest installed, if at least as new
 * as the dump's {@code pg_dump}.
 */
public final class PostgresClients {

  /** Stands for the major version in {@code directoryTemplate}. */
  public static final String MAJOR = "{major}";

  /** Tells a program's major version from its {@code --version}; empty when it cannot be run. */
  @FunctionalInterface
  public interface VersionProbe {
    OptionalInt major(String program);
  }

  /** A client that does not exist on this worker for what it has to read. */
  public static final class ClientMissingException extends Exception {
    ClientMissingException(String message) {
      super(message);
    }
  }

  private static final String PG_BASEBACKUP = "pg_basebackup";
  private static final Pattern VERSION = Pattern.compile("\\(PostgreSQL\\) (\\d+)");
  private static final Pattern NUMBER = Pattern.compile("\\d+");
  /** {@code {major}} once, as a whole folder name. */
  public static final String TEMPLATE_PATTERN = "([^{}]*/)?\\{major}(/[^{}]*)?";
  private static final Pattern TEMPLATE = Pattern.compile(TEMPLATE_PATTERN);

  private final String directoryTemplate;
  private final String pgDump;
  private final String pgRestore;
  private final String pgBasebackup;
  private final VersionProbe versions;
  private final boolean fixed;
  private final Map<String, OptionalInt> versionCache = new ConcurrentHashMap<>();

  private PostgresClients(String directoryTemplate, String pgDump, String pgRestore, String pgBasebackup, VersionProbe versions,
      boolean fixed) {
    if (directoryTemplate != null && !directoryTemplate.isBlank() && !TEMPLATE.matcher(directoryTemplate).matches()) {
      throw new IllegalArgumentException("the PostgreSQL client directory must hold " + MAJOR
          + " as a folder name of its own, e.g. /usr/lib/postgresql/{major}/bin: " + directoryTemplate);
    }
    this.directoryTemplate = directoryTemplate == null || directoryTemplate.isBlank() ? null : directoryTemplate;
    this.pgDump = pgDump;
    this.pgRestore = pgRestore;
    this.pgBasebackup = pgBasebackup;
    this.versions = versions;
    this.fixed = fixed;
  }

  /**
   * Chooses by version among the clients under {@code directoryTemplate} (e.g.
   * {@code /usr/lib/postgresql/{major}/bin}; blank for none) and the configured programs ({@code pg_basebackup}:
   * the one on PATH).
   */
  public static PostgresClients byVersion(String directoryTemplate, String pgDump, String pgRestore) {
    return new PostgresClients(directoryTemplate, pgDump, pgRestore, PG_BASEBACKUP, PostgresClients::versionOf, false);
  }

  /** The same with another way to read a program's version: for tests. */
  static PostgresClients byVersion(String directoryTemplate, String pgDump, String pgRestore, VersionProbe versions) {
    return new PostgresClients(directoryTemplate, pgDump, pgRestore, PG_BASEBACKUP, versions, false);
  }

  /** Always these programs ({@code pg_basebackup} from PATH), whatever the versions: for tests and tools that bring their own. */
  public static PostgresClients fixed(String pgDump, String pgRestore) {
    return new PostgresClients(null, pgDump, pgRestore, PG_BASEBACKUP, program -> OptionalInt.empty(), true);
  }

  /** Whether the choice depends on the server's version (else there is no need to ask it). */
  public boolean choosesByVersion() {
    return !fixed;
  }

  /** The {@code pg_dump} for a server of this major version. */
  public String pgDump(int serverMajor) throws ClientMissingException {
    return fixed ? pgDump : serving("pg_dump", pgDump, serverMajor);
  }

  /** The {@code pg_basebackup} for a server of this major version. */
  public String pgBasebackup(int serverMajor) throws ClientMissingException {
    return fixed ? pgBasebackup : serving(PG_BASEBACKUP, pgBasebackup, serverMajor);
  }

  /** A client reading a server of this major: the server's own major if there, else the newest newer one. */
  private String serving(String tool, String configured, int serverMajor) throws ClientMissingException {
    TreeMap<Integer, String> found = candidates(tool, configured);
    if (found.containsKey(serverMajor)) {
      return found.get(serverMajor);
    }
    Map.Entry<Integer, String> newest = found.lastEntry();
    if (newest != null && newest.getKey() > serverMajor) {
      return newest.getValue();
    }
    throw new ClientMissingException(tool + " for PostgreSQL " + serverMajor + " not installed on this worker: "
        + foundText(found));
  }

  /**
   * The {@code psql} that asks a server its version and counts its tables: {@code configured} as given
   * when it names a path; for a bare name, the newest installed under the directory template, else the
   * name looked up on PATH. Any major's {@code psql} runs those queries. On Debian, {@code psql} on PATH
   * is a Perl wrapper that starts the newest installed one for a remote server anyway, after tens of
   * milliseconds of its own, and two such starts came before every dump's first byte.
   */
  public String psql(String configured) {
    if (configured.contains("/")) {
      return configured;
    }
    TreeMap<Integer, String> found = new TreeMap<>(installed("psql"));
    return found.isEmpty() ? configured : found.lastEntry().getValue();
  }

  /** The {@code pg_restore} for a dump of a {@code pg_dump} of this major version (0: not known). */
  public String pgRestore(int dumpMajor) throws ClientMissingException {
    if (fixed) {
      return pgRestore;
    }
    TreeMap<Integer, String> found = candidates("pg_restore", pgRestore);
    if (!found.isEmpty() && found.lastKey() >= dumpMajor) {
      return found.lastEntry().getValue();
    }
    throw new ClientMissingException("pg_restore for dumps of PostgreSQL " + dumpMajor + " not installed on this worker: "
        + foundText(found));
  }

  /** The installed majors of a tool, each with its program; the configured one only where it adds a major. */
  private TreeMap<Integer, String> candidates(String tool, String configured) {
    TreeMap<Integer, String> found = new TreeMap<>(installed(tool));
    versionCache.computeIfAbsent(configured, versions::major)
        .ifPresent(major -> found.putIfAbsent(major, configured));
    return found;
  }

  /** The tool in each major's directory of the template, by major. */
  Map<Integer, String> installed(String tool) {
    Map<Integer, String> installed = new TreeMap<>();
    if (directoryTemplate == null) {
      return installed;
    }
    Path parent = Path.of(directoryTemplate.substring(0, directoryTemplate.indexOf(MAJOR)));
    if (!Files.isDirectory(parent)) {
      return installed;
    }
    try (Stream<Path> entries = Files.list(parent)) {
      for (Path entry : entries.toList()) {
        String name = entry.getFileName().toString();
        if (!NUMBER.matcher(name).matches() || name.length() > 4) {
          continue;
        }
        Path program = Path.of(directoryTemplate.replace(MAJOR, name)).resolve(tool);
        if (Files.isRegularFile(program) && Files.isExecutable(program)) {
          installed.put(Integer.parseInt(name), program.toString());
        }
      }
    } catch (IOException e) {
      // an unreadable folder holds nothing we can run
    }
    return installed;
  }

  private static String foundText(Map<Integer, String> found) {
    if (found.isEmpty()) {
      return "found none";
    }
    return "found " + found.keySet().stream().map(String::valueOf).collect(Collectors.joining(", "));
  }

  /** The major version of a server from {@code server_version_num} as psql prints it. */
  public static int majorOf(String serverVersionNum) {
    return majorOf(Integer.parseInt(serverVersionNum.trim()));
  }

  /** The major version of a server from {@code server_version_num} (150020 is 15; 90624 is 9). */
  public static int majorOf(int serverVersionNum) {
    return serverVersionNum / 10000;
  }

  /** The major version a program prints with {@code --version} ({@code pg_dump (PostgreSQL) 15.20 (Debian …)}). */
  static OptionalInt parseVersion(String versionOutput) {
    Matcher m = VERSION.matcher(versionOutput);
    return m.find() ? OptionalInt.of(Integer.parseInt(m.group(1))) : OptionalInt.empty();
  }

  private static OptionalInt versionOf(String program) {
    List<String> command = new ArrayList<>(List.of(program, "--version"));
    try {
      Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
      process.getOutputStream().close();
      String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        return OptionalInt.empty();
      }
      return process.exitValue() == 0 ? parseVersion(out) : OptionalInt.empty();
    } catch (IOException e) {
      return OptionalInt.empty();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return OptionalInt.empty();
    }
  }

  /**
   * The {@code pg_dump} major a custom-format dump needs from {@code pg_restore}, from its header's archive
   * version ({@code PGDMP}, then major, minor, revision bytes): 1.16 came with PostgreSQL 17, 1.15 with 16,
   * 1.14 with 12; older ones any supported {@code pg_restore} reads. 0 for anything else.
   */
  public static int restoreMajorFor(byte[] header) {
    if (header.length < 8 || header[0] != 'P' || header[1] != 'G' || header[2] != 'D' || header[3] != 'M' || header[4] != 'P') {
      return 0;
    }
    int major = header[5];
    int minor = header[6];
    if (major != 1) {
      return 0;
    }
    if (minor > 16) {
      // a format newer than any mapped here: only a pg_restore newer than 17 could read it
      return 18;
    }
    return switch (minor) {
      case 16 -> 17;
      case 15 -> 16;
      case 14 -> 12;
      default -> 0;
    };
  }
}
