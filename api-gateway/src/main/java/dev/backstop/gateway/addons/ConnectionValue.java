package dev.backstop.gateway.addons;

import dev.backstop.kit.addon.ConnectionValues;
import jakarta.validation.Constraint;
import jakarta.validation.ConstraintValidator;
import jakarta.validation.ConstraintValidatorContext;
import jakarta.validation.Payload;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import java.util.Optional;

/**
 * A connection setting that reaches the dump and restore tools, checked at the API by the same rules
 * the tools' callers apply ({@link ConnectionValues}); the message is the rule, never the value.
 */
@Target({ElementType.FIELD, ElementType.PARAMETER, ElementType.RECORD_COMPONENT, ElementType.METHOD})
@Retention(RetentionPolicy.RUNTIME)
@Constraint(validatedBy = ConnectionValue.Check.class)
public @interface ConnectionValue {

  /** Which setting. */
  enum Kind { HOST, USER, DATABASE, PASSWORD }

  Kind value();

  String message() default "is not a valid connection setting";

  Class<?>[] groups() default {};

  Class<? extends Payload>[] payload() default {};

  /** Applies the rule of its kind. */
  class Check implements ConstraintValidator<ConnectionValue, String> {
    private Kind kind;

    @Override
    public void initialize(ConnectionValue annotation) {
      kind = annotation.value();
    }

    @Override
    public boolean isValid(String value, ConstraintValidatorContext context) {
      Optional<String> violation = switch (kind) {
        case HOST -> ConnectionValues.checkHost(value);
        case USER -> ConnectionValues.checkUser(value);
        case DATABASE -> ConnectionValues.checkDatabase(value);
        case PASSWORD -> ConnectionValues.checkPassword(value);
      };
      if (violation.isEmpty()) {
        return true;
      }
      context.disableDefaultConstraintViolation();
      context.buildConstraintViolationWithTemplate(literal(violation.get())).addConstraintViolation();
      return false;
    }

    /** The rule's sentence as a message template that interpolates nothing ('$', braces and '\' escaped). */
    private static String literal(String message) {
      return message.replaceAll("([\\\\{}$])", "\\\\$1");
    }
  }
}
