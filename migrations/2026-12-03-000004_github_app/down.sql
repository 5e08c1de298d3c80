DROP TABLE github_installation_repositories;
DROP TABLE github_installations;
DROP TABLE github_apps;
DROP TABLE github_setup_states;
DROP INDEX repositories_github_id_live;
ALTER TABLE repositories DROP COLUMN github_id;
