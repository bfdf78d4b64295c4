package dev.backstop.worker.engine;

import dev.backstop.worker.mysql.MysqlDumpEngine;
import dev.backstop.worker.postgres.PostgresDumpEngine;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Takes secrets and the worker's own paths out of what a tool said, before it becomes a failure reason
 * (shown to the customer, kept on a topic and in the store forever) or a log line. A tool quotes what
 * it was given: libpq names the pgpass file a rejected password came from, MariaDB's client quotes an
 * option it did not know, which may be a piece of a password that broke out of its line.
 *
 * <p>Hidden: each password as given, as written into an option file or pgpass line, and each of its
 * pieces between line breaks, when at least {@value #MIN_PIECE} characters long (a shorter one would
 * hide letters of ordinary words in every reason). A path
 * under a hidden folder is replaced by its file name alone.
 */
public final class Scrubber {

  public static final int MIN_PIECE = 4;
  public static final String HIDDEN = "[hidden]";

  private final Set<String> secrets;
  private final List<Path> folders;

  private Scrubber(Set<String> secrets, List<Path> folders) {
    this.secrets = secrets;
    this.folders = folders;
  }

  /** Hides these passwords (null and empty ones are ignored). */
  public static Scrubber hiding(String... passwords) {
    Set<String> secrets = new LinkedHashSet<>();
    for (String password : passwords) {
      if (password == null || password.isEmpty()) {
        continue;
      }
      List<String> pieces = new ArrayList<>(List.of(password));
      pieces.addAll(List.of(password.split("\\R|[\\u0000-\\u001f\\u0085\\u2028\\u2029]")));
      for (String piece : pieces) {
        for (String form : List.of(piece, MysqlDumpEngine.escapeOptionValue(piece), PostgresDumpEngine.escapePgpass(piece))) {
          if (form.strip().length() >= MIN_PIECE) {
            secrets.add(form);
          }
        }
      }
    }
    return new Scrubber(secrets, List.of());
  }

  /** Also hides paths under {@code folder} (as given and as resolved through links). */
  public Scrubber withFolder(Path folder) {
    if (folder == null || folder.getNameCount() == 0) {
      return this;
    }
    List<Path> all = new ArrayList<>(folders);
    Path absolute = folder.toAbsolutePath().normalize();
    all.add(absolute);
    try {
      Path real = absolute.toRealPath();
      if (!real.equals(absolute)) {
        all.add(real);
      }
    } catch (IOException gone) {
      // not there (any more): the path as given is all a tool can have seen
    }
    return new Scrubber(secrets, all);
  }

  public String scrub(String text) {
    if (text == null || text.isEmpty()) {
      return text;
    }
    String out = text;
    // longest first, so that a piece never leaves the rest of a longer secret behind
    List<String> ordered = new ArrayList<>(secrets);
    ordered.sort(Comparator.comparingInt(String::length).reversed());
    for (String secret : ordered) {
      out = out.replace(secret, HIDDEN);
    }
    List<Path> byLength = new ArrayList<>(folders);
    byLength.sort(Comparator.comparingInt((Path p) -> p.toString().length()).reversed());
    for (Path folder : byLength) {
      Matcher matcher = Pattern.compile(Pattern.quote(folder.toString()) + "(/[^\\s\"'`]*)?").matcher(out);
      StringBuilder result = new StringBuilder();
      while (matcher.find()) {
        String rest = matcher.group(1);
        String name = rest == null || rest.length() <= 1 ? "(work directory)" : Path.of(rest.substring(1)).getFileName().toString();
        matcher.appendReplacement(result, Matcher.quoteReplacement(name));
      }
      matcher.appendTail(result);
      out = result.toString();
    }
    return out;
  }
}
