package io.agentpdp.web;

import java.util.List;
import java.util.Map;

import jakarta.servlet.http.HttpServletRequest;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.http.converter.HttpMessageNotReadableException;
import org.springframework.validation.FieldError;
import org.springframework.web.HttpMediaTypeNotAcceptableException;
import org.springframework.web.HttpMediaTypeNotSupportedException;
import org.springframework.web.HttpRequestMethodNotSupportedException;
import org.springframework.validation.BindException;
import org.springframework.web.bind.MissingServletRequestParameterException;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;
import org.springframework.web.method.annotation.HandlerMethodValidationException;
import org.springframework.web.method.annotation.MethodArgumentTypeMismatchException;
import org.springframework.web.servlet.resource.NoResourceFoundException;

import tools.jackson.core.exc.StreamConstraintsException;
import tools.jackson.databind.exc.UnrecognizedPropertyException;
import tools.jackson.databind.exc.InvalidFormatException;
import tools.jackson.databind.exc.MismatchedInputException;
import tools.jackson.core.JacksonException;

/** The one place where exceptions become RFC 9457 answers. Messages say what was wrong, never echo secrets. */
@RestControllerAdvice
class ProblemHandler {

    private static final Logger log = LoggerFactory.getLogger(ProblemHandler.class);

    private final Problems problems;

    ProblemHandler(Problems problems) {
        this.problems = problems;
    }

    @ExceptionHandler(Problems.ApiException.class)
    ResponseEntity<ProblemDetail> api(Problems.ApiException e, HttpServletRequest request) {
        ProblemDetail problem = problems.problem(request, e.status(), e.title(), e.getMessage());
        if (e.decisionId() != null) {
            problem.setProperty("decision_id", e.decisionId());
        }
        if (e.status() >= 500) {
            log.warn("{} {} failed: {}", request.getMethod(), request.getRequestURI(), e.getMessage(), e.getCause());
        }
        if (e.status() == 429) {
            return ResponseEntity.status(429).header("Retry-After", "1")
                    .contentType(MediaType.APPLICATION_PROBLEM_JSON).body(problem);
        }
        return respond(problem);
    }

    @ExceptionHandler(HttpMessageNotReadableException.class)
    ResponseEntity<ProblemDetail> unreadable(HttpMessageNotReadableException e, HttpServletRequest request) {
        for (Throwable cause = e; cause != null; cause = cause.getCause()) {
            if (cause instanceof RequestLimitsFilter.BodyTooLargeException tooLarge) {
                return tooLarge(tooLarge, request);
            }
        }
        return respond(problems.problem(request, 400, "Malformed request body", describe(e.getCause())));
    }

    /** A request body that failed validation: thrown by MVC ({@code MethodArgumentNotValidException}) and the decide servlet. */
    @ExceptionHandler(BindException.class)
    ResponseEntity<ProblemDetail> invalid(BindException e, HttpServletRequest request) {
        List<Map<String, String>> errors = e.getBindingResult().getFieldErrors().stream()
                .map(ProblemHandler::fieldError)
                .sorted((a, b) -> a.get("field").compareTo(b.get("field")))
                .toList();
        ProblemDetail problem = problems.problem(request, 400, "Invalid request",
                errors.size() + " field(s) failed validation: " + errors.stream().map(m -> m.get("field") + " " + m.get("message")).toList());
        problem.setProperty("errors", errors);
        return respond(problem);
    }

    @ExceptionHandler(jakarta.validation.ConstraintViolationException.class)
    ResponseEntity<ProblemDetail> constraint(jakarta.validation.ConstraintViolationException e, HttpServletRequest request) {
        return respond(problems.problem(request, 400, "Invalid request", "A path or query parameter failed validation."));
    }

    @ExceptionHandler(HandlerMethodValidationException.class)
    ResponseEntity<ProblemDetail> invalidParameter(HandlerMethodValidationException e, HttpServletRequest request) {
        return respond(problems.problem(request, 400, "Invalid request", "A request parameter failed validation."));
    }

    @ExceptionHandler({MethodArgumentTypeMismatchException.class, MissingServletRequestParameterException.class})
    ResponseEntity<ProblemDetail> badParameter(Exception e, HttpServletRequest request) {
        String name = e instanceof MethodArgumentTypeMismatchException mismatch ? mismatch.getName()
                : ((MissingServletRequestParameterException) e).getParameterName();
        return respond(problems.problem(request, 400, "Invalid request", "Parameter '" + name + "' is missing or malformed."));
    }

    @ExceptionHandler(HttpMediaTypeNotSupportedException.class)
    ResponseEntity<ProblemDetail> mediaType(HttpMediaTypeNotSupportedException e, HttpServletRequest request) {
        return respond(problems.problem(request, 415, "Unsupported media type",
                "Content-Type " + e.getContentType() + " is not supported; send application/json."));
    }

    @ExceptionHandler(HttpMediaTypeNotAcceptableException.class)
    ResponseEntity<ProblemDetail> notAcceptable(HttpMediaTypeNotAcceptableException e, HttpServletRequest request) {
        return respond(problems.problem(request, 406, "Not acceptable", "This API answers application/json and application/problem+json."));
    }

    @ExceptionHandler(HttpRequestMethodNotSupportedException.class)
    ResponseEntity<ProblemDetail> method(HttpRequestMethodNotSupportedException e, HttpServletRequest request) {
        ProblemDetail problem = problems.problem(request, 405, "Method not allowed", "Method " + e.getMethod() + " is not supported here.");
        return ResponseEntity.status(405)
                .allow(e.getSupportedHttpMethods() == null ? new org.springframework.http.HttpMethod[0]
                        : e.getSupportedHttpMethods().toArray(org.springframework.http.HttpMethod[]::new))
                .contentType(MediaType.APPLICATION_PROBLEM_JSON)
                .body(problem);
    }

    @ExceptionHandler({org.springframework.web.multipart.MultipartException.class,
            org.springframework.http.InvalidMediaTypeException.class, org.springframework.util.InvalidMimeTypeException.class})
    ResponseEntity<ProblemDetail> undecodableBody(Exception e, HttpServletRequest request) {
        return respond(problems.problem(request, 415, "Unsupported media type",
                "The request's Content-Type is malformed or not supported; send application/json."));
    }

    @ExceptionHandler(NoResourceFoundException.class)
    ResponseEntity<ProblemDetail> notFound(NoResourceFoundException e, HttpServletRequest request) {
        return respond(problems.problem(request, 404, "Not found", "No such resource."));
    }

    @ExceptionHandler(RequestLimitsFilter.BodyTooLargeException.class)
    ResponseEntity<ProblemDetail> tooLarge(RequestLimitsFilter.BodyTooLargeException e, HttpServletRequest request) {
        return respond(problems.problem(request, 413, "Payload too large", e.getMessage()));
    }

    @ExceptionHandler(Exception.class)
    ResponseEntity<ProblemDetail> unexpected(Exception e, HttpServletRequest request) {
        log.error("Unexpected failure on {} {}", request.getMethod(), request.getRequestURI(), e);
        return respond(problems.problem(request, 500, "Internal error", "The request failed; nothing was allowed."));
    }

    private static ResponseEntity<ProblemDetail> respond(ProblemDetail problem) {
        return ResponseEntity.status(HttpStatus.valueOf(problem.getStatus()))
                .contentType(MediaType.APPLICATION_PROBLEM_JSON)
                .body(problem);
    }

    private static Map<String, String> fieldError(FieldError error) {
        return Map.of("field", snakeCase(error.getField()),
                "message", error.getDefaultMessage() == null ? "is invalid" : error.getDefaultMessage());
    }

    /** Field paths in messages use the wire names (snake_case), not Java's. */
    static String snakeCase(String path) {
        return path.replaceAll("([a-z0-9])([A-Z])", "$1_$2").toLowerCase(java.util.Locale.ROOT);
    }

    private static String describe(Throwable cause) {
        if (cause instanceof UnrecognizedPropertyException unknown) {
            return "Unknown field '" + unknown.getPropertyName() + "' at " + path(unknown) + ".";
        }
        if (cause instanceof StreamConstraintsException limit) {
            return "The JSON document exceeds a limit: " + limit.getOriginalMessage();
        }
        if (cause instanceof InvalidFormatException format) {
            return "Field " + path(format) + " has an invalid value.";
        }
        if (cause instanceof MismatchedInputException mismatch) {
            return mismatch.getPath().isEmpty()
                    ? "The body must be a JSON object."
                    : "Field " + path(mismatch) + " has the wrong type or is null.";
        }
        if (cause instanceof JacksonException json) {
            return "The body is not valid JSON: " + json.getOriginalMessage();
        }
        return "The request body is missing or unreadable.";
    }

    private static String path(JacksonException e) {
        StringBuilder path = new StringBuilder();
        for (JacksonException.Reference reference : e.getPath()) {
            if (reference.getPropertyName() != null) {
                path.append(path.isEmpty() ? "" : ".").append(reference.getPropertyName());
            } else if (reference.getIndex() >= 0) {
                path.append('[').append(reference.getIndex()).append(']');
            }
        }
        return path.isEmpty() ? "the top level" : "'" + path + "'";
    }
}
