package dev.backstop.cli;

import dev.backstop.cli.Api.ApiException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.ZoneId;
import java.util.ArrayList;

import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import tools.jackson.databind.JsonNode;

/**
 * {@code backstop}: an addon's backups from a terminal. Commands, flags and output follow the reference
 * CLI. Configured by {@code BACKSTOP_API_URL} and {@code BACKSTOP_TOKEN}; errors print {@code  !     <why>}
 * and exit 1.
 */
@Command(name = "backstop", mixinStandardHelpOptions = true, version = "backstop 0.1.0",
    description = "Backups of your databases.",
    subcommands = {BackstopCli.Addons.class, BackstopCli.Backups.class, BackstopCli.BackupsCreate.class,
        BackstopCli.BackupsDownload.class, BackstopCli.BackupsConfig.class, BackstopCli.Pitr.class})
public final class BackstopCli {

  @Option(names = "--app", description = "The app.", required = true, scope = CommandLine.ScopeType.INHERIT)
  String app;

  @Option(names = "--addon", description = "The addon's id.", scope = CommandLine.ScopeType.INHERIT)
  String addon;

  @Spec CommandLine.Model.CommandSpec spec;

  final Map<String, String> env;
  final ZoneId zone;
  Duration poll = Duration.ofSeconds(1);

  BackstopCli(Map<String, String> env, ZoneId zone) {
    this.env = env;
    this.zone = zone;
  }

  public static void main(String[] args) {
    System.exit(run(args, System.getenv(), ZoneId.systemDefault(), new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
  }

  /** Runs one command; returns its exit code (0 done, 1 failed, 2 bad usage). */
  static int run(String[] args, Map<String, String> env, ZoneId zone, PrintWriter out, PrintWriter err) {
    CommandLine cli = new CommandLine(new BackstopCli(env, zone));
    cli.setOut(out);
    cli.setErr(err);
    cli.setExecutionExceptionHandler((e, line, parsed) -> {
      err.println(" !     " + e.getMessage());
      return 1;
    });
    return cli.execute(args);
  }

  Api api() {
    return new Api(env.getOrDefault("BACKSTOP_API_URL", "http://127.0.0.1:8080"), env.get("BACKSTOP_TOKEN"));
  }

  String addonPath() {
    return Api.path("v1", "apps", app, "addons", addon);
  }

  /** The base of every subcommand: the parent's options and its output. */
  abstract static class Sub implements Callable<Integer> {
    @ParentCommand BackstopCli cli;
    @Spec CommandLine.Model.CommandSpec spec;

    PrintWriter out() {
      return spec.commandLine().getOut();
    }

    PrintWriter err() {
      return spec.commandLine().getErr();
    }

    String addonPath() {
      if (cli.addon == null) {
        throw new CommandLine.ParameterException(spec.commandLine(), "this command needs --addon <id>");
      }
      return cli.addonPath();
    }
  }

  @Command(name = "addons", description = "List the app's databases.")
  static final class Addons extends Sub {
    @Override
    public Integer call() throws ApiException {
      JsonNode addons = cli.api().get(Api.path("v1", "apps", cli.app, "addons"));
      List<List<String>> rows = new ArrayList<>();
      addons.forEach(a -> rows.add(Format.row(Format.product(a.get("engine").asString()), a.get("id").asString(),
          Format.planName(a.get("engine").asString(), a.get("plan").asString()), a.get("status").asString())));
      out().print(Format.table(List.of("ADDON", "ID", "PLAN", "STATUS"), rows));
      out().flush();
      return 0;
    }
  }

  @Command(name = "backups", description = "List the addon's backups.")
  static final class Backups extends Sub {
    @Override
    public Integer call() throws ApiException {
      JsonNode backups = cli.api().get(addonPath() + "/backups");
      List<List<String>> rows = new ArrayList<>();
      backups.forEach(b -> rows.add(Format.row(b.get("id").asString(), Format.createdAt(b.get("createdAt").asString(), cli.zone),
          b.get("size").isNull() ? "" : Format.size(b.get("size").asLong()), b.get("status").asString())));
      out().print(Format.table(List.of("ID", "CREATED AT", "SIZE", "STATUS"), rows, 0, Format.CREATED_AT_WIDTH, 0, 0));
      out().flush();
      return 0;
    }
  }

  @Command(name = "backups-create", description = "Take a manual backup and wait for it.")
  static final class BackupsCreate extends Sub {
    @Override
    public Integer call() throws ApiException, InterruptedException {
      Api api = cli.api();
      String id = api.post(addonPath() + "/backups").get("id").asString();
      while (true) {
        JsonNode backup = api.get(addonPath() + "/backups/" + id);
        switch (backup.get("status").asString()) {
          case "done" -> {
            out().println("-----> Backup successfully finished");
            return 0;
          }
          case "failed" -> {
            err().println(" !     Backup failed: " + backup.get("reason").asString());
            return 1;
          }
          default -> Thread.sleep(cli.poll.toMillis());
        }
      }
    }
  }

  @Command(name = "backups-download", description = "Download a backup (the most recent successful one by default).")
  static final class BackupsDownload extends Sub {
    @Option(names = "--backup", description = "The backup's id.") String backupId;

    @Option(names = {"-o", "--output"}, description = "Where to write it (default: its archive name, here).") Path output;

    @Override
    public Integer call() throws ApiException, IOException {
      Api api = cli.api();
      JsonNode backup;
      if (backupId == null) {
        backup = null;
        for (JsonNode b : api.get(addonPath() + "/backups")) {
          if (b.get("status").asString().equals("done")) {
            backup = b;
            break;
          }
        }
        if (backup == null) {
          throw new ApiException(404, "this addon has no successful backup yet");
        }
        out().println("-----> Selected the most recent successful backup");
      } else {
        backup = api.get(addonPath() + "/backups/" + backupId);
      }
      Path target = output != null ? output : Path.of(backup.get("archiveName").asString());
      long size = backup.get("size").asLong();
      long have = Files.exists(target) ? Files.size(target) : 0;
      if (have > size) {
        have = 0;
      }
      if (have < size) {
        var response = api.download(addonPath() + "/backups/" + backup.get("id").asString() + "/archive", have);
        boolean resumed = response.statusCode() == 206;
        try (InputStream in = response.body();
            OutputStream file = Files.newOutputStream(target, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                resumed ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING)) {
          long done = resumed ? have : 0;
          byte[] buffer = new byte[1 << 16];
          long lastShown = 0;
          for (int n; (n = in.read(buffer)) > 0; ) {
            file.write(buffer, 0, n);
            done += n;
            if (System.nanoTime() - lastShown > 200_000_000L) {
              out().print("\r" + Format.progress(done, size));
              out().flush();
              lastShown = System.nanoTime();
            }
          }
        }
      }
      out().print("\r" + Format.progress(Files.size(target), size) + "\n");
      String sha256 = sha256(target);
      if (!sha256.equals(backup.get("sha256").asString())) {
        throw new ApiException(0, "the downloaded file does not match the backup's SHA-256 (" + sha256 + "); download it again");
      }
      out().println("===> " + target.getFileName());
      return 0;
    }

    private static String sha256(Path file) throws IOException {
      try (InputStream in = Files.newInputStream(file)) {
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        byte[] buffer = new byte[1 << 16];
        for (int n; (n = in.read(buffer)) > 0; ) {
          digest.update(buffer, 0, n);
        }
        return HexFormat.of().formatHex(digest.digest());
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException(e);
      }
    }
  }

  @Command(name = "backups-config",
      description = "Set the time of the daily backup (which turns them on), e.g. --schedule-at 3 or \"4:00 UTC\"; or turn them off with --unschedule.")
  static final class BackupsConfig extends Sub {
    @CommandLine.ArgGroup(exclusive = true, multiplicity = "1") What what;

    static final class What {
      @Option(names = "--schedule-at", description = "An hour, optionally with ':00' and a time zone; an hour alone is in this machine's zone.")
      String scheduleAt;

      @Option(names = "--unschedule", description = "Stop the daily backups (the ones taken stay until they age out).")
      boolean unschedule;
    }

    @Override
    public Integer call() throws ApiException {
      Map<String, Object> change = new LinkedHashMap<>();
      if (what.unschedule) {
        change.put("enabled", false);
      } else {
        change.put("scheduleAt", what.scheduleAt);
        change.put("timezone", cli.zone.getId());
        // setting a time means backups at that time: a disabled schedule comes back on
        change.put("enabled", true);
      }
      JsonNode schedule = cli.api().put(addonPath() + "/schedule", change);
      out().println("-----> " + schedule.get("message").asString());
      return 0;
    }
  }

  @Command(name = "pitr", description = "Show the point-in-time recovery window: every instant you can restore the database to.")
  static final class Pitr extends Sub {
    @Override
    public Integer call() throws ApiException {
      JsonNode window = cli.api().get(addonPath() + "/pitr");
      out().print(Format.pitrWindow(window.get("state").asString(), text(window.get("earliest")), text(window.get("latest")),
          text(window.get("reason")), cli.zone));
      out().flush();
      return 0;
    }

    private static String text(JsonNode node) {
      return node == null || node.isNull() ? null : node.asString();
    }
  }
}
