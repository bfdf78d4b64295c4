package dev.backstop.gateway.web;

import org.springframework.boot.jackson.autoconfigure.JsonMapperBuilderCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import tools.jackson.core.StreamReadFeature;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.MapperFeature;
import tools.jackson.databind.cfg.CoercionAction;
import tools.jackson.databind.cfg.CoercionInputShape;
import tools.jackson.databind.type.LogicalType;

/**
 * The API reads its JSON bodies strictly: a value of the wrong JSON type is an error, not something to
 * convert ({@code "port":"5432"}, {@code 5432.7}, {@code "appName":123}), and so are an unknown field,
 * a repeated key and anything after the document. A lenient reader lets a typo or a smuggled field pass
 * as if it had been understood, and makes two readers of the same body disagree about what it says.
 */
@Configuration(proxyBeanMethods = false)
public class StrictJson {

  @Bean
  JsonMapperBuilderCustomizer strictJsonBodies() {
    return builder -> builder
        .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
        .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, DeserializationFeature.FAIL_ON_TRAILING_TOKENS,
            DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES, DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
        .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT, DeserializationFeature.ACCEPT_SINGLE_VALUE_AS_ARRAY,
            DeserializationFeature.UNWRAP_SINGLE_VALUE_ARRAYS, DeserializationFeature.ACCEPT_EMPTY_STRING_AS_NULL_OBJECT,
            DeserializationFeature.ACCEPT_EMPTY_ARRAY_AS_NULL_OBJECT)
        .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
        .withCoercionConfig(LogicalType.Integer, c -> failFrom(c, CoercionInputShape.String, CoercionInputShape.Float,
            CoercionInputShape.Boolean, CoercionInputShape.EmptyString))
        .withCoercionConfig(LogicalType.Float, c -> failFrom(c, CoercionInputShape.String, CoercionInputShape.Boolean,
            CoercionInputShape.EmptyString))
        .withCoercionConfig(LogicalType.Boolean, c -> failFrom(c, CoercionInputShape.String, CoercionInputShape.Integer,
            CoercionInputShape.Float, CoercionInputShape.EmptyString))
        .withCoercionConfig(LogicalType.Textual, c -> failFrom(c, CoercionInputShape.Integer, CoercionInputShape.Float,
            CoercionInputShape.Boolean, CoercionInputShape.Array, CoercionInputShape.Object))
        .withCoercionConfig(LogicalType.POJO, c -> failFrom(c, CoercionInputShape.EmptyString, CoercionInputShape.String,
            CoercionInputShape.EmptyArray))
        .withCoercionConfig(LogicalType.Collection, c -> failFrom(c, CoercionInputShape.EmptyString,
            CoercionInputShape.String));
  }

  private static void failFrom(tools.jackson.databind.cfg.MutableCoercionConfig config, CoercionInputShape... shapes) {
    for (CoercionInputShape shape : shapes) {
      config.setCoercion(shape, CoercionAction.Fail);
    }
  }
}
