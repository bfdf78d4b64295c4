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
        BackstopCli.BackupsDownload.class, BackstopCli.BackupsConfig.class, BackstopCli.Pitr.class,
        BackstopCli.PitrRestore.class, BackstopCli.Webhooks.class, BackstopCli.WebhooksAdd.class,
        BackstopCli.WebhooksRemove.class, BackstopCli.WebhooksDeliveries.class})
public final class BackstopCli implements Callable<Integer> {

  /** The environment section every command's help ends with. */
  static final String[] ENVIRONMENT = {
      "  BACKSTOP_API_URL  the Backstop API's address (default " + Api.DEFAULT_URL + ")",
      "  BACKSTOP_TOKEN    your app's token (or the operator's)"};

  // not required for picocli: `<command> --help` must work without it; each command that calls the API asks for it
  @Option(names = "--app", description = "The app.", scope = CommandLine.ScopeType.INHERIT)
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
    return run(args, env, zone, Duration.ofSeconds(1), out, err);
  }

  /** {@code poll}: how often a waiting command asks again (tests wait for nothing). */
  static int run(String[] args, Map<String, String> env, ZoneId zone, PrintWriter out, PrintWriter err, Duration poll) {
    return run(args, env, zone, poll, out, err);
  }

  static int run(String[] args, Map<String, String> env, ZoneId zone, Duration poll, PrintWriter out, PrintWriter err) {
    BackstopCli backstop = new BackstopCli(env, zone);
    backstop.poll = poll;
    CommandLine cli = new CommandLine(backstop);
    cli.setOut(out);
    cli.setErr(err);
    environmentSection(cli);
    cli.setExecutionExceptionHandler((e, line, parsed) -> {
      err.println(" !     " + e.getMessage());
      return 1;
    });
    return cli.execute(args);
  }

  private static void environmentSection(CommandLine command) {
    command.getCommandSpec().usageMessage().footerHeading("%nEnvironment:%n").footer(ENVIRONMENT);
    command.getSubcommands().values().forEach(BackstopCli::environmentSection);
  }

  /** {@code backstop} alone: what it can do. */
  @Override
  public Integer call() {
    spec.commandLine().usage(spec.commandLine().getErr());
    return 2;
  }

  Api api() throws ApiException {
    return new Api(env.getOrDefault("BACKSTOP_API_URL", Api.DEFAULT_URL), env.get("BACKSTOP_TOKEN"));
  }

  String addonPath() {
    return Api.path("v1", "apps", app, "addons", addon);
  }

  /** The base of every subcommand: the parent's options and its output. */
  @Command(mixinStandardHelpOptions = true)
  abstract static class Sub implements Callable<Integer> {
    @ParentCommand BackstopCli cli;
    @Spec CommandLine.Model.CommandSpec spec;

    PrintWriter out() {
      return spec.commandLine().getOut();
    }

    PrintWriter err() {
      return spec.commandLine().getErr();
    }

    String app() {
      if (cli.app == null) {
        throw new CommandLine.ParameterException(spec.commandLine(), "Missing required option: '--app=<app>'");
      }
      return cli.app;
    }

    String addonPath() {
      app();
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
      JsonNode addons = cli.api().get(Api.path("v1", "apps", app(), "addons"));
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
    @Option(names = "--wait-timeout", paramLabel = "<duration>", defaultValue = "1h", converter = Durations.class,
        description = "How long to wait for the backup to end, e.g. 90s, 30m, 2h (default: ${DEFAULT-VALUE}); "
            + "the backup goes on after that, `backups` shows it.")
    Duration waitTimeout;

    /** How often a status line is printed while nothing changes. */
    static final Duration STATUS_EVERY = Duration.ofSeconds(15);
    /** The shortest time between two requests for the backup. */
    static final Duration MIN_ASK_EVERY = Duration.ofMillis(100);

    @Override
    public Integer call() throws ApiException, InterruptedException {
      String addonPath = addonPath();
      Api api = cli.api();
      String id = api.post(addonPath + "/backups").get("id").asString();
      // progress goes to standard error: standard output keeps the reference's one line
      err().println("       backup " + id + " requested, waiting for it to end (up to " + Durations.text(waitTimeout) + ")");
      long start = System.nanoTime();
      long lastLine = start;
      String lastStatus = "";
      String path = addonPath + "/backups/" + id;
      Api.Tagged seen = api.getTagged(path);
      while (true) {
        JsonNode backup = seen.body();
        String status = backup.get("status").asString();
        switch (status) {
          case "done" -> {
            out().println("-----> Backup successfully finished");
            return 0;
          }
          case "failed" -> {
            err().println(" !     Backup failed: " + backup.get("reason").asString());
            return 1;
          }
          default -> { }
        }
        long now = System.nanoTime();
        Duration waited = Duration.ofNanos(now - start);
        if (!status.equals(lastStatus) || now - lastLine >= STATUS_EVERY.toNanos()) {
          err().println("       " + statusLine(status, backup.get("progress"), waited));
          lastStatus = status;
          lastLine = now;
        }
        if (waited.compareTo(waitTimeout) >= 0) {
          err().println(" !     " + (status.equals("pending")
              ? "backup " + id + " is still waiting for a dump worker after " + Durations.text(waitTimeout)
                  + ": is one running? The request stays queued; follow it with `backups`"
              : "backup " + id + " is still running after " + Durations.text(waitTimeout)
                  + "; it goes on: follow it with `backups`, raise --wait-timeout to wait longer"));
          return 1;
        }
        seen = next(api, path, seen, waitTimeout.minus(waited));
      }
    }

    /**
     * The backup once it changed, or as it is after at most {@code left}: a long poll while the gateway
     * names the view (answered the moment the backup ends, nothing asked meanwhile, a status line's worth
     * of time at most); asking again after {@code poll} otherwise. Never more than ten requests a second,
     * whatever the gateway answers.
     */
    private Api.Tagged next(Api api, String path, Api.Tagged seen, Duration left) throws ApiException, InterruptedException {
      long asked = System.nanoTime();
      Api.Tagged next;
      if (seen.etag() != null && left.compareTo(Duration.ofSeconds(1)) >= 0) {
        Api.Tagged changed = api.awaitChange(path, seen.etag(), left.compareTo(STATUS_EVERY) < 0 ? left : STATUS_EVERY);
        next = changed == null ? seen : changed;
      } else {
        Thread.sleep(Math.min(cli.poll.toMillis(), Math.max(1, left.toMillis())));
        next = api.getTagged(path);
      }
      long sinceAsked = Duration.ofNanos(System.nanoTime() - asked).toMillis();
      if (sinceAsked < MIN_ASK_EVERY.toMillis()) {
        Thread.sleep(MIN_ASK_EVERY.toMillis() - sinceAsked);
      }
      return next;
    }

    static String statusLine(String status, JsonNode progress, Duration waited) {
      String after = " (" + Durations.text(waited.withNanos(0)) + ")";
      if (status.equals("pending")) {
        return "waiting for a dump worker to take it" + after;
      }
      if (progress != null && progress.isObject() && progress.has("dumpedBytes")) {
        return "running: " + Format.size(progress.get("dumpedBytes").asLong()) + " dumped, "
            + Format.size(progress.get("storedBytes").asLong()) + " stored" + after;
      }
      return status + after;
    }
  }

  /** {@code 90s}, {@code 30m}, {@code 2h}, {@code 500ms}, or ISO-8601 ({@code PT30M}). */
  static final class Durations implements CommandLine.ITypeConverter<Duration> {
    @Override
    public Duration convert(String value) {
      var m = java.util.regex.Pattern.compile("(\\d+)(ms|s|m|h)").matcher(value.trim());
      Duration d;
      if (m.matches()) {
        long n = Long.parseLong(m.group(1));
        d = switch (m.group(2)) {
          case "ms" -> Duration.ofMillis(n);
          case "s" -> Duration.ofSeconds(n);
          case "m" -> Duration.ofMinutes(n);
          default -> Duration.ofHours(n);
        };
      } else {
        try {
          d = Duration.parse(value.trim());
        } catch (java.time.format.DateTimeParseException e) {
          throw new CommandLine.TypeConversionException("'" + value + "' is not a duration: write e.g. 90s, 30m or 2h");
        }
      }
      if (d.isNegative() || d.isZero()) {
        throw new CommandLine.TypeConversionException("'" + value + "' is not a duration above zero");
      }
      return d;
    }

    static String text(Duration d) {
      if (d.toMillis() < 1000) {
        return d.toMillis() + " ms";
      }
      if (d.toSeconds() < 120 || d.toSeconds() % 60 != 0) {
        return d.toSeconds() + " s";
      }
      if (d.toMinutes() < 120 || d.toMinutes() % 60 != 0) {
        return d.toMinutes() + " min";
      }
      return d.toHours() + " h";
    }
  }

  @Command(name = "backups-download", description = "Download a backup (the most recent successful one by default).")
  static final class BackupsDownload extends Sub {
    @Option(names = "--backup", description = "The backup's id.") String backupId;

    @Option(names = {"-o", "--output"},
        description = "Where to write it: a file, or a directory to put it in (default: its archive name, in this directory).")
    Path output;

    @Override
    public Integer call() throws ApiException, IOException {
      String addonPath = addonPath();
      Api api = cli.api();
      JsonNode backup;
      if (backupId == null) {
        backup = null;
        for (JsonNode b : api.get(addonPath + "/backups")) {
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
        backup = api.get(addonPath + "/backups/" + backupId);
        String id = backup.get("id").asString();
        switch (backup.get("status").asString()) {
          case "done" -> { }
          case "failed" -> throw new ApiException(0, "backup " + id + " failed: " + text(backup.get("reason"), "no reason recorded")
              + "; nothing to download");
          default -> throw new ApiException(0, "backup " + id + " is still " + backup.get("status").asString()
              + "; nothing to download yet (`backups-create` waits for a backup to end)");
        }
      }
      return download(this, api, backup, output);
    }

    /**
     * Downloads {@code backup}'s archive into {@code output} (a file, a directory, or its archive name here), resuming
     * a partial file, checks its SHA-256 and prints {@code ===> <file>}.
     */
    static int download(Sub sub, Api api, JsonNode backup, Path output) throws ApiException, IOException {
      String archiveName = Path.of(backup.get("archiveName").asString()).getFileName().toString();
      Path target = output == null ? Path.of(archiveName) : Files.isDirectory(output) ? output.resolve(archiveName) : output;
      long size = backup.get("size").asLong();
      String expected = backup.get("sha256").asString();
      String archive = sub.addonPath() + "/backups/" + backup.get("id").asString() + "/archive";
      long have = Files.isRegularFile(target) ? Files.size(target) : 0;
      if (have == size && !sha256(target).equals(expected)) {
        // the right size and the wrong bytes: resuming cannot mend it, only a whole new copy
        sub.err().println("       " + target.getFileName() + " does not match the backup's SHA-256: downloading it again");
        have = 0;
      } else if (have > size) {
        have = 0;
      }
      if (have < size || size == 0) {
        fetch(sub, api, archive, target, have, size);
      }
      String sha256 = sha256(target);
      if (!sha256.equals(expected) && have > 0) {
        // the part already here was not this backup's: start from the first byte
        sub.err().println("       the resumed file does not match the backup's SHA-256: downloading it again");
        fetch(sub, api, archive, target, 0, size);
        sha256 = sha256(target);
      }
      if (!sha256.equals(expected)) {
        throw new ApiException(0, "the downloaded file " + target.getFileName() + " does not match the backup's SHA-256 (got "
            + sha256 + ", expected " + expected + "): it changed on the way; run the command again");
      }
      sub.out().print("\r" + Format.progress(Files.size(target), size) + "\n");
      sub.out().println("===> " + target.getFileName());
      return 0;
    }

    private static void fetch(Sub sub, Api api, String path, Path target, long from, long size) throws ApiException, IOException {
      var response = api.download(path, from);
      boolean resumed = from > 0 && response.statusCode() == 206;
      try (InputStream in = response.body();
          OutputStream file = Files.newOutputStream(target, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
              resumed ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING)) {
        long done = resumed ? from : 0;
        byte[] buffer = new byte[1 << 16];
        long lastShown = 0;
        for (int n; (n = in.read(buffer)) > 0; ) {
          file.write(buffer, 0, n);
          done += n;
          if (System.nanoTime() - lastShown > 200_000_000L) {
            sub.out().print("\r" + Format.progress(done, size));
            sub.out().flush();
            lastShown = System.nanoTime();
          }
        }
      }
    }

    private static String text(JsonNode node, String fallback) {
      return node == null || node.isNull() ? fallback : node.asString();
    }

    static String sha256(Path file) throws IOException {
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

  @Command(name = "pitr-restore",
      description = "Restore the database as it was at a point in time (PostgreSQL Starter/Business), wait for it, optionally download it.")
  static final class PitrRestore extends Sub {
    @Option(names = "--at", required = true,
        description = "The instant, e.g. \"2026-12-01 14:02:30\" (this machine's time zone) or \"2026-12-01 14:02:30 UTC\".")
    String at;

    @Option(names = "--download", description = "Download the result when done.") boolean download;

    @Option(names = {"-o", "--output"}, description = "Where to write the download (default: its archive name, here).") Path output;

    @Override
    public Integer call() throws ApiException, IOException, InterruptedException {
      java.time.Instant target;
      try {
        target = Format.instantAt(at, cli.zone);
      } catch (IllegalArgumentException e) {
        throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
      }
      Api api = cli.api();
      String id = api.post(addonPath() + "/pitr/restores", Map.of("targetTime", target.toString())).get("id").asString();
      out().println("-----> Restoring to " + Format.createdAt(target.toString(), cli.zone) + " (restore " + id + ")");
      String shown = "";
      while (true) {
        JsonNode restore = api.get(addonPath() + "/pitr/restores/" + id);
        switch (restore.get("status").asString()) {
          case "done" -> {
            out().println((shown.isEmpty() ? "" : "\n") + "-----> Restore finished: backup " + restore.get("backupId").asString());
            if (!download) {
              return 0;
            }
            return BackupsDownload.download(this, api, api.get(addonPath() + "/backups/" + restore.get("backupId").asString()), output);
          }
          case "failed" -> {
            err().println((shown.isEmpty() ? "" : "\n") + " !     Restore failed: " + restore.get("reason").asString());
            return 1;
          }
          default -> {
            String line = Format.restoreProgress(restore);
            if (!line.equals(shown)) {
              out().print("\r" + line + " ".repeat(Math.max(0, shown.length() - line.length())));
              out().flush();
              shown = line;
            }
            Thread.sleep(cli.poll.toMillis());
          }
        }
      }
    }
  }

  String webhooksPath() {
    return Api.path("v1", "apps", app, "webhooks");
  }

  @Command(name = "webhooks", description = "List the app's webhook endpoints.")
  static final class Webhooks extends Sub {
    @Override
    public Integer call() throws ApiException {
      List<List<String>> rows = new ArrayList<>();
      cli.api().get(cli.webhooksPath()).forEach(w -> {
        List<String> events = new ArrayList<>();
        w.get("events").forEach(e -> events.add(e.asString()));
        String status = w.get("status").asString();
        if (w.hasNonNull("disabledReason")) {
          status += " (" + w.get("disabledReason").asString() + ")";
        }
        rows.add(Format.row(w.get("id").asString(), w.get("url").asString(), String.join(", ", events), status));
      });
      out().print(Format.table(List.of("ID", "URL", "EVENTS", "STATUS"), rows));
      out().flush();
      return 0;
    }
  }

  @Command(name = "webhooks-add", description = "Register a webhook endpoint; prints its signing secret, shown this once.")
  static final class WebhooksAdd extends Sub {
    @Option(names = "--url", required = true, description = "Where to deliver: an https URL.") String url;

    @Option(names = "--events", required = true, split = ",", description = "Comma-separated: backup.failed, backup.completed, "
        + "restore-test.failed, backup.missed, pitr.window-broken, pitr.window-restored.")
    List<String> events;

    @Override
    public Integer call() throws ApiException {
      JsonNode created = cli.api().post(cli.webhooksPath(), Map.of("url", url, "events", events));
      out().println("-----> Webhook " + created.get("id").asString() + " registered");
      out().println("       Signing secret (shown this once, keep it): " + created.get("secret").asString());
      return 0;
    }
  }

  @Command(name = "webhooks-remove", description = "Delete a webhook endpoint.")
  static final class WebhooksRemove extends Sub {
    @Option(names = "--webhook", required = true, description = "The endpoint's id.") String webhook;

    @Override
    public Integer call() throws ApiException {
      cli.api().delete(cli.webhooksPath() + Api.path(webhook));
      out().println("-----> Webhook " + webhook + " removed");
      return 0;
    }
  }

  @Command(name = "webhooks-deliveries", description = "An endpoint's last deliveries.")
  static final class WebhooksDeliveries extends Sub {
    @Option(names = "--webhook", required = true, description = "The endpoint's id.") String webhook;

    @Override
    public Integer call() throws ApiException {
      List<List<String>> rows = new ArrayList<>();
      cli.api().get(cli.webhooksPath() + Api.path(webhook, "deliveries")).forEach(d -> rows.add(Format.row(
          d.get("messageId").asString(), d.get("event").asString(), d.get("status").asString(),
          Integer.toString(d.get("attempts").asInt()),
          d.hasNonNull("lastError") ? d.get("lastError").asString() : "")));
      out().print(Format.table(List.of("MESSAGE", "EVENT", "STATUS", "ATTEMPTS", "LAST ERROR"), rows));
      out().flush();
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
