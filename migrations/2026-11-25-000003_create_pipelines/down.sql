DROP TABLE pipeline_configs;
DROP TABLE pipeline_versions;
