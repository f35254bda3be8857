"""The function settings moto drops, kept, and those Lambda refuses, refused.

Lambda keeps a function's DeadLetterConfig, LoggingConfig (Text logs in
/aws/lambda/NAME by default; INFO levels with JSON) and FileSystemConfigs,
applies EphemeralStorage, TracingConfig and KMSKeyArn on
UpdateFunctionConfiguration and Architectures on UpdateFunctionCode; moto
drops all of these, so they are kept here, and the settings greenlight
applies are read back as Lambda would report them.

Lambda refuses (400 InvalidParameterValueException), on CreateFunction and
UpdateFunctionConfiguration, log levels unless the logs are JSON, and a
file system unless the function is in a VPC; moto accepts both, so they
are refused here.
"""

KEPT = ("DeadLetterConfig", "LoggingConfig", "FileSystemConfigs")
LEVELS = ("ApplicationLogLevel", "SystemLogLevel")


def install() -> None:
    from moto.awslambda import models
    from moto.awslambda.exceptions import InvalidParameterValueException

    init = models.LambdaFunction.__init__
    get_configuration = models.LambdaFunction.get_configuration
    update_configuration = models.LambdaFunction.update_configuration
    update_function_code = models.LambdaFunction.update_function_code

    def refuse_what_lambda_refuses(asked: dict, current: dict, vpc) -> None:
        """Refuses `asked` (a create's spec or an update) over `current`
        (the settings kept so far) and `vpc` (the function's VpcConfig)."""
        logging = asked.get("LoggingConfig") or {}
        log_format = logging.get("LogFormat") or (current.get("LoggingConfig") or {}).get(
            "LogFormat", "Text"
        )
        if any(logging.get(level) for level in LEVELS) and log_format != "JSON":
            raise InvalidParameterValueException(
                "ApplicationLogLevel and SystemLogLevel can only be set when LogFormat is JSON."
            )
        file_systems = asked.get("FileSystemConfigs", current.get("FileSystemConfigs")) or []
        vpc = asked.get("VpcConfig", vpc) or {}
        if file_systems and not vpc.get("SubnetIds"):
            raise InvalidParameterValueException(
                "A function with FileSystemConfigs must be connected to a VPC: "
                "give VpcConfig with subnets and security groups."
            )

    def created(self, *args, **kwargs):
        spec = kwargs.get("spec") or args[1]
        refuse_what_lambda_refuses(spec, {}, None)
        init(self, *args, **kwargs)
        self.greenlight_settings = {k: spec[k] for k in KEPT if k in spec}

    def configuration(self, *args, **kwargs):
        config = get_configuration(self, *args, **kwargs)
        settings = getattr(self, "greenlight_settings", {})
        logging = {
            "LogFormat": "Text",
            "LogGroup": f"/aws/lambda/{self.function_name}",
            **settings.get("LoggingConfig", {}),
        }
        if logging["LogFormat"] == "JSON":
            logging.setdefault("ApplicationLogLevel", "INFO")
            logging.setdefault("SystemLogLevel", "INFO")
        else:
            for level in LEVELS:
                logging.pop(level, None)
        config["LoggingConfig"] = logging
        if settings.get("DeadLetterConfig", {}).get("TargetArn"):
            config["DeadLetterConfig"] = settings["DeadLetterConfig"]
        config["FileSystemConfigs"] = settings.get("FileSystemConfigs", [])
        return config

    def updated(self, updates):
        refuse_what_lambda_refuses(
            updates, getattr(self, "greenlight_settings", {}), self._vpc_config
        )
        # A new dict, not an update in place: published versions are
        # shallow copies of $LATEST and must keep their own settings.
        settings = dict(getattr(self, "greenlight_settings", {}))
        settings.update({k: updates[k] for k in KEPT if k in updates})
        self.greenlight_settings = settings
        if "EphemeralStorage" in updates:
            self.ephemeral_storage = updates["EphemeralStorage"]["Size"]
        if "TracingConfig" in updates:
            self.tracing_config = updates["TracingConfig"]
        if "KMSKeyArn" in updates:
            self.kms_key_arn = updates["KMSKeyArn"] or None
        return update_configuration(self, updates)

    def code_updated(self, spec):
        if "Architectures" in spec:
            self.architectures = spec["Architectures"]
        return update_function_code(self, spec)

    models.LambdaFunction.__init__ = created
    models.LambdaFunction.get_configuration = configuration
    models.LambdaFunction.update_configuration = updated
    models.LambdaFunction.update_function_code = code_updated
