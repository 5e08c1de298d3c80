DROP INDEX repositories_list_order;
DROP INDEX repositories_identity_key_live;
DROP TABLE repositories;
