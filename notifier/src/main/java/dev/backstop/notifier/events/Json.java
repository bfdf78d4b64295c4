package dev.backstop.notifier.events;

import java.time.Instant;
import java.util.Map;

/** The small JSON writer webhook bodies need: objects of strings, numbers, booleans, instants and objects. */
final class Json {

  private Json() {}

  static String write(Map<String, ?> object) {
    StringBuilder out = new StringBuilder();
    write(object, out);
    return out.toString();
  }

  private static void write(Object value, StringBuilder out) {
    switch (value) {
      case null -> out.append("null");
      case Map<?, ?> map -> {
        out.append('{');
        boolean first = true;
        for (var entry : map.entrySet()) {
          if (entry.getValue() == null) {
            continue;
          }
          if (!first) {
            out.append(',');
          }
          first = false;
          string(entry.getKey().toString(), out);
          out.append(':');
          write(entry.getValue(), out);
        }
        out.append('}');
      }
      case Boolean b -> out.append(b);
      case Integer i -> out.append(i);
      case Long l -> out.append(l);
      case Instant instant -> string(instant.toString(), out);
      default -> string(value.toString(), out);
    }
  }

  private static void string(String s, StringBuilder out) {
    out.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        default -> {
          if (c < 0x20 || c == 0x2028 || c == 0x2029) {
            out.append(String.format("\\u%04x", (int) c));
          } else {
            out.append(c);
          }
        }
      }
    }
    out.append('"');
  }
}
